from __future__ import annotations

import pytest

from billing.domain.customer_changes import CustomerDraft, missing_fields_filled
from billing.domain.customers import Customer, environment_of, normalized_email


def customer(**fields: object) -> Customer:
    return Customer(
        **{"internal_id": "cus_internal", "id": "user_1", "created_at": 1, "metadata": {}, **fields}
    )


class TestMissingFieldsFilled:
    def test_given_an_empty_customer_when_a_draft_has_name_and_email_then_both_are_filled(self):
        draft = CustomerDraft(name="Ada", email="ada@example.com")

        assert missing_fields_filled(customer(), draft) == {
            "name": "Ada",
            "email": "ada@example.com",
        }

    def test_given_a_customer_with_name_and_email_then_a_draft_never_overwrites_them(self):
        existing = customer(name="Ada", email="ada@example.com")
        draft = CustomerDraft(name="Mallory", email="mallory@example.com")

        assert missing_fields_filled(existing, draft) == {}

    def test_only_the_empty_field_is_filled(self):
        existing = customer(name="Ada")
        draft = CustomerDraft(name="Mallory", email="ada@example.com")

        assert missing_fields_filled(existing, draft) == {"email": "ada@example.com"}

    def test_an_empty_string_on_the_customer_counts_as_missing(self):
        draft = CustomerDraft(name="Ada")

        assert missing_fields_filled(customer(name=""), draft) == {"name": "Ada"}

    def test_a_draft_without_name_or_email_fills_nothing(self):
        assert missing_fields_filled(customer(), CustomerDraft()) == {}

    def test_fields_other_than_name_and_email_are_never_filled(self):
        draft = CustomerDraft(fingerprint="fp", metadata={"a": 1}, send_email_receipts=True)

        assert missing_fields_filled(customer(), draft) == {}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ada@example.com", "ada@example.com"),
        ("Ada@Example.COM", "ada@example.com"),
        ("  ada@example.com\t\n", "ada@example.com"),
    ],
)
def test_normalized_email_ignores_case_and_surrounding_blanks(raw: str, expected: str):
    assert normalized_email(raw) == expected


@pytest.mark.parametrize(
    ("key", "environment"),
    [
        (None, "sandbox"),
        ("sk_test_abc123", "sandbox"),
        ("rk_test_abc123", "sandbox"),
        ("sk_live_abc123", "live"),
        ("rk_live_abc123", "live"),
    ],
)
def test_environment_of_a_stripe_key_follows_its_mode(key: str | None, environment: str):
    assert environment_of(key) == environment
