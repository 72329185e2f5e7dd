"""When Stripe fails: a clear 502, nothing half-done that a retry cannot finish, no charge
of a key for a failure on our side, and no secret in any answer."""

from __future__ import annotations

import httpx

from local.stack import EMULATOR_STRIPE_KEY, LocalStack
from tests.conftest import table_items


def test_a_stripe_outage_is_a_502_and_the_same_idempotent_retry_then_succeeds(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    assert clean_stack.emulator is not None
    # The stripe SDK retries twice itself; make all three attempts fail.
    clean_stack.emulator.fail_next("POST", "/v1/customers", status=500, times=3)
    body = {"customer_id": "user_1", "email": "a@example.com", "create_in_stripe": True}
    headers = {"Idempotency-Key": "retry-me"}

    failed = api.post("/v1/customers.get_or_create", json=body, headers=headers)
    retried = api.post("/v1/customers.get_or_create", json=body, headers=headers)

    assert failed.status_code == 502
    assert failed.json()["code"] == "stripe_error"
    assert EMULATOR_STRIPE_KEY not in failed.text
    assert retried.status_code == 200, "a 5xx does not consume the Idempotency-Key"
    assert retried.headers.get("idempotent-replayed") is None
    assert retried.json()["stripe_id"] is not None
    assert clean_stack.emulator.count("customer") == 1


def test_a_4xx_answer_is_replayed_to_a_retry_with_the_same_key(api: httpx.Client) -> None:
    headers = {"Idempotency-Key": "bad-request"}
    body = {"customer_id": None, "name": "no email"}

    first = api.post("/v1/customers.get_or_create", json=body, headers=headers)
    second = api.post("/v1/customers.get_or_create", json=body, headers=headers)

    assert first.status_code == second.status_code == 400
    assert second.text == first.text
    assert second.headers["idempotent-replayed"] == "true"


def test_a_key_reused_with_another_body_is_a_409_that_changes_nothing(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    headers = {"Idempotency-Key": "one-key"}
    api.post("/v1/customers.get_or_create", json={"customer_id": "user_1"}, headers=headers)
    before = table_items(clean_stack)

    reused = api.post(
        "/v1/customers.get_or_create", json={"customer_id": "user_2"}, headers=headers
    )

    assert reused.status_code == 409
    assert reused.json()["code"] == "idempotency_key_conflict"
    assert table_items(clean_stack) == before


def test_a_stripe_failure_after_the_customer_was_stored_is_finished_by_a_plain_retry(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    assert clean_stack.emulator is not None
    clean_stack.emulator.fail_next("POST", "/v1/customers", status=503, times=3)
    body = {"customer_id": "user_1", "create_in_stripe": True}

    assert api.post("/v1/customers.get_or_create", json=body).status_code == 502
    retried = api.post("/v1/customers.get_or_create", json=body).json()

    assert retried["stripe_id"] is not None
    assert clean_stack.emulator.count("customer") == 1
