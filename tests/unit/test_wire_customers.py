from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from billing.api.wire.customers import (
    DeleteCustomerRequest,
    GetCustomerRequest,
    GetOrCreateCustomerRequest,
    ListCustomersRequest,
    UpdateCustomerRequest,
    customer_page,
    customer_response,
)
from billing.domain.customer_changes import CustomerChanges
from billing.domain.customers import Customer, PageQuery
from billing.domain.errors import InvalidRequest


def get_or_create(**fields: Any) -> GetOrCreateCustomerRequest:
    return GetOrCreateCustomerRequest.model_validate({"customer_id": "u1", **fields})


def error_types(error: ValidationError) -> dict[str, str]:
    return {".".join(map(str, e["loc"])): e["type"] for e in error.errors()}


class TestStrictTypes:
    def test_a_number_is_not_accepted_as_a_customer_id(self):
        with pytest.raises(ValidationError) as raised:
            GetOrCreateCustomerRequest.model_validate({"customer_id": 123})

        assert error_types(raised.value) == {"customer_id": "string_type"}

    @pytest.mark.parametrize("value", ["true", 1, "1"])
    def test_a_string_or_number_is_not_accepted_as_a_bool(self, value: object):
        with pytest.raises(ValidationError) as raised:
            get_or_create(create_in_stripe=value)

        assert error_types(raised.value) == {"create_in_stripe": "bool_type"}

    @pytest.mark.parametrize("value", ["10", True, 10.0])
    def test_only_an_int_is_accepted_as_a_limit(self, value: object):
        with pytest.raises(ValidationError):
            ListCustomersRequest.model_validate({"limit": value})

    def test_a_number_is_not_accepted_as_a_name(self):
        with pytest.raises(ValidationError):
            get_or_create(name=42)

    def test_an_unknown_field_is_refused_by_name_not_dropped(self):
        with pytest.raises(ValidationError) as refused:
            get_or_create(name="Ada", added_in_a_newer_sdk={"x": 1})

        assert error_types(refused.value) == {"added_in_a_newer_sdk": "extra_forbidden"}

    def test_requests_are_immutable(self):
        request = get_or_create()

        with pytest.raises(ValidationError):
            request.name = "Mallory"  # type: ignore[misc]


class TestCustomerId:
    def test_customer_id_is_required(self):
        with pytest.raises(ValidationError) as raised:
            GetOrCreateCustomerRequest.model_validate({"email": "ada@example.com"})

        assert error_types(raised.value) == {"customer_id": "missing"}

    def test_customer_id_may_be_null_on_get_or_create(self):
        request = GetOrCreateCustomerRequest.model_validate({"customer_id": None})

        assert request.customer_id is None

    @pytest.mark.parametrize("model", [GetCustomerRequest, UpdateCustomerRequest])
    def test_customer_id_may_not_be_null_elsewhere(self, model: type[Any]):
        with pytest.raises(ValidationError):
            model.model_validate({"customer_id": None})

    @pytest.mark.parametrize(
        "customer_id",
        [
            pytest.param("", id="empty"),
            pytest.param("   ", id="blank"),
            pytest.param("user\n1", id="newline"),
            pytest.param("user\x001", id="nul"),
            pytest.param("user\t1", id="tab"),
            pytest.param("user\u200b1", id="zero width space"),
            pytest.param("x" * 257, id="too long"),
        ],
    )
    def test_invalid_customer_ids_are_rejected(self, customer_id: str):
        with pytest.raises(ValidationError):
            GetOrCreateCustomerRequest.model_validate({"customer_id": customer_id})

    @pytest.mark.parametrize("customer_id", ["u", "user 1", "ユーザー_1", "x" * 256])
    def test_printable_customer_ids_up_to_256_characters_are_accepted(self, customer_id: str):
        assert get_or_create(customer_id=customer_id).customer_id == customer_id

    def test_new_customer_id_follows_the_same_rules(self):
        with pytest.raises(ValidationError) as raised:
            UpdateCustomerRequest.model_validate({"customer_id": "u1", "new_customer_id": " "})

        assert list(error_types(raised.value)) == ["new_customer_id"]


class TestNameAndEmail:
    @pytest.mark.parametrize("blank", ["", "   ", "\t"])
    def test_a_blank_name_or_email_means_none(self, blank: str):
        request = get_or_create(name=blank, email=blank)

        assert request.name is None
        assert request.email is None

    @pytest.mark.parametrize("email", ["ada@example.com", "a.b+c@mail.example.co.uk"])
    def test_valid_emails_are_accepted(self, email: str):
        assert get_or_create(email=email).email == email

    def test_an_email_is_trimmed(self):
        assert get_or_create(email="  ada@example.com ").email == "ada@example.com"

    @pytest.mark.parametrize(
        "email", ["ada", "ada@", "@example.com", "ada@example", "ada lovelace@example.com"]
    )
    def test_invalid_emails_are_rejected(self, email: str):
        with pytest.raises(ValidationError) as raised:
            get_or_create(email=email)

        assert list(error_types(raised.value)) == ["email"]

    def test_a_name_may_have_512_characters_but_not_more(self):
        assert get_or_create(name="n" * 512).name == "n" * 512
        with pytest.raises(ValidationError):
            get_or_create(name="n" * 513)

    def test_an_email_may_have_254_characters_but_not_more(self):
        domain = "@example.com"
        longest = "a" * (254 - len(domain)) + domain

        assert get_or_create(email=longest).email == longest
        with pytest.raises(ValidationError):
            get_or_create(email="a" + longest)


class TestOtherFields:
    def test_fingerprint_is_limited_to_1024_characters(self):
        assert get_or_create(fingerprint="f" * 1024).fingerprint == "f" * 1024
        with pytest.raises(ValidationError):
            get_or_create(fingerprint="f" * 1025)

    def test_metadata_is_limited_to_50_keys(self):
        assert len(get_or_create(metadata={str(i): i for i in range(50)}).metadata or {}) == 50
        with pytest.raises(ValidationError):
            get_or_create(metadata={str(i): i for i in range(51)})

    @pytest.mark.parametrize("stripe_id", ["cus_123", "cus_AbC_9"])
    def test_a_stripe_customer_id_is_accepted(self, stripe_id: str):
        assert get_or_create(stripe_id=stripe_id).stripe_id == stripe_id

    def test_a_blank_stripe_id_means_none(self):
        assert get_or_create(stripe_id="").stripe_id is None

    @pytest.mark.parametrize("stripe_id", ["acct_123", "cus_", "cus_1 2", "cus_1\n", "x" * 300])
    def test_anything_but_a_stripe_customer_id_is_rejected(self, stripe_id: str):
        with pytest.raises(ValidationError):
            get_or_create(stripe_id=stripe_id)

    def test_the_draft_carries_what_the_caller_said(self):
        request = get_or_create(
            name="Ada",
            email="ada@example.com",
            fingerprint="fp",
            metadata={"plan": "pro"},
            send_email_receipts=True,
        )

        draft = request.draft()

        assert (draft.name, draft.email, draft.fingerprint) == ("Ada", "ada@example.com", "fp")
        assert draft.metadata == {"plan": "pro"}
        assert draft.send_email_receipts is True

    def test_delete_in_stripe_defaults_to_false(self):
        assert DeleteCustomerRequest.model_validate({"customer_id": "u1"}).delete_in_stripe is False


class TestUpdateChanges:
    def update(self, **fields: Any) -> UpdateCustomerRequest:
        return UpdateCustomerRequest.model_validate({"customer_id": "u1", **fields})

    def test_nothing_sent_means_no_changes(self):
        assert self.update().changes() == CustomerChanges()

    def test_only_the_fields_sent_are_changed(self):
        assert self.update(name="Ada", metadata={"a": 1}).changes() == CustomerChanges(
            name="Ada", metadata={"a": 1}
        )

    def test_a_field_sent_as_null_is_cleared(self):
        changes = self.update(name=None, email=None, stripe_id=None, fingerprint=None).changes()

        assert changes == CustomerChanges(name=None, email=None, stripe_id=None, fingerprint=None)

    def test_metadata_sent_as_null_becomes_empty(self):
        assert self.update(metadata=None).changes() == CustomerChanges(metadata={})

    def test_send_email_receipts_sent_as_null_is_left_alone(self):
        assert self.update(send_email_receipts=None).changes() == CustomerChanges()

    def test_send_email_receipts_false_is_a_change(self):
        assert self.update(send_email_receipts=False).changes() == CustomerChanges(
            send_email_receipts=False
        )

    def test_a_new_id_is_not_a_profile_change(self):
        assert self.update(new_customer_id="u2").changes() == CustomerChanges()

    def test_fields_a_customer_shows_but_no_caller_sets_are_refused(self):
        with pytest.raises(ValidationError) as refused:
            self.update(internal_id="x", created_at=5)

        assert error_types(refused.value) == {
            "internal_id": "extra_forbidden",
            "created_at": "extra_forbidden",
        }

    def test_changes_apply_only_what_was_sent_and_keep_the_rest(self):
        before = Customer(
            internal_id="cus_1",
            id="u1",
            name="Ada",
            email="a@example.com",
            created_at=1,
            metadata={},
        )
        sent = self.update(name=None, config={"disable_pooled_balance": True}).changes()

        after = sent.applied_to(before)

        assert after.name is None
        assert after.email == "a@example.com"
        assert after.config.disable_pooled_balance is True
        assert after.config.disable_overage_billing is False


class TestListPageQuery:
    def test_defaults_are_the_newest_50_customers(self):
        assert ListCustomersRequest().page_query() == PageQuery(
            cursor=None,
            limit=50,
            ascending=False,
            search=None,
            created_from=None,
            created_to=None,
            linked_to_stripe=False,
        )

    def test_every_parameter_is_mapped(self):
        request = ListCustomersRequest.model_validate(
            {
                "start_cursor": "abc",
                "limit": 10,
                "sort_order": "asc",
                "search": "ada",
                "created_at_range": {"start": 1000, "end": 2000.0},
                "processors": ["stripe"],
            }
        )

        assert request.page_query() == PageQuery(
            cursor="abc",
            limit=10,
            ascending=True,
            search="ada",
            created_from=1000,
            created_to=2000,
            linked_to_stripe=True,
        )

    def test_an_empty_cursor_or_search_means_none(self):
        query = ListCustomersRequest(start_cursor="", search="").page_query()

        assert (query.cursor, query.search) == (None, None)

    def test_a_range_with_only_an_end_has_no_start(self):
        query = ListCustomersRequest.model_validate({"created_at_range": {"end": 5}}).page_query()

        assert (query.created_from, query.created_to) == (None, 5)

    def test_a_fractional_inclusive_start_excludes_the_millisecond_before_it(self):
        # created_at is in whole milliseconds and the start is inclusive: created_at >= 1000.5
        # means created_at >= 1001, so the query must not start at 1000.
        request = ListCustomersRequest.model_validate({"created_at_range": {"start": 1000.5}})

        assert request.page_query().created_from == 1001

    @pytest.mark.parametrize(
        ("processors", "linked"), [(None, False), ([], False), (["vercel"], False)]
    )
    def test_only_the_stripe_processor_filters_on_stripe(self, processors: Any, linked: bool):
        request = ListCustomersRequest.model_validate({"processors": processors})

        assert request.page_query().linked_to_stripe is linked

    def test_an_unknown_processor_is_rejected(self):
        with pytest.raises(ValidationError):
            ListCustomersRequest.model_validate({"processors": ["paddle"]})

    def test_filtering_by_plans_is_not_supported_yet(self):
        request = ListCustomersRequest.model_validate({"plans": [{"id": "pro"}]})

        with pytest.raises(InvalidRequest) as raised:
            request.page_query()

        assert raised.value.details == [{"field": "plans", "message": "not supported yet"}]

    def test_an_empty_plans_filter_is_no_filter(self):
        assert ListCustomersRequest.model_validate({"plans": []}).page_query().limit == 50

    @pytest.mark.parametrize(
        "fields",
        [
            {"limit": 0},
            {"limit": 101},
            {"sort_order": "newest"},
            {"search": "s" * 257},
            {"created_at_range": {"start": -1}},
            {"created_at_range": {"end": "2024-01-01"}},
        ],
    )
    def test_out_of_range_parameters_are_rejected(self, fields: dict[str, Any]):
        with pytest.raises(ValidationError):
            ListCustomersRequest.model_validate(fields)


CUSTOMER = Customer(
    internal_id="cus_internal",
    id="u1",
    name="Ada",
    email="ada@example.com",
    fingerprint="fp",
    metadata={"plan": "pro"},
    stripe_id="cus_123",
    send_email_receipts=True,
    created_at=1_700_000_000_000,
)

EXPANDABLE = ("invoices", "entities", "trials_used", "referrals")


class TestCustomerResponse:
    def test_the_customer_is_answered_in_the_wire_shape(self):
        body = json.loads(customer_response(CUSTOMER, "live").model_dump_json())

        assert body == {
            "id": "u1",
            "name": "Ada",
            "email": "ada@example.com",
            "created_at": 1_700_000_000_000,
            "fingerprint": "fp",
            "stripe_id": "cus_123",
            "env": "live",
            "metadata": {"plan": "pro"},
            "send_email_receipts": True,
            "billing_controls": {},
            "config": {"disable_pooled_balance": False, "disable_overage_billing": False},
            "subscriptions": [],
            "purchases": [],
            "licenses": [],
            "balances": {},
            "flags": {},
        }

    def test_the_internal_id_and_version_are_never_exposed(self):
        body = customer_response(CUSTOMER, "sandbox").model_dump_json()

        assert "cus_internal" not in body
        assert "version" not in json.loads(body)

    @pytest.mark.parametrize("expand", [None, [], ["nonsense"]])
    def test_without_a_known_expansion_no_expandable_list_is_present(self, expand: Any):
        body = json.loads(customer_response(CUSTOMER, "sandbox", expand).model_dump_json())

        assert not set(EXPANDABLE) & set(body)

    @pytest.mark.parametrize("asked", EXPANDABLE)
    def test_an_expansion_adds_only_the_list_asked_for(self, asked: str):
        body = json.loads(customer_response(CUSTOMER, "sandbox", [asked]).model_dump_json())

        assert body[asked] == []
        assert set(EXPANDABLE) & set(body) == {asked}

    def test_several_expansions_add_each_list(self):
        response = customer_response(CUSTOMER, "sandbox", ["invoices", "referrals", "balances"])
        body = json.loads(response.model_dump_json())

        assert set(EXPANDABLE) & set(body) == {"invoices", "referrals"}

    def test_a_page_lists_customers_without_expansions(self):
        body = json.loads(customer_page([CUSTOMER], "next", "live").model_dump_json())

        assert body["next_cursor"] == "next"
        assert [c["id"] for c in body["list"]] == ["u1"]
        assert not set(EXPANDABLE) & set(body["list"][0])
