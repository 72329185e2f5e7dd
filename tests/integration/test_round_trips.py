"""The DynamoDB round-trip budget of the customers operations, counted with botocore hooks."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from bench.round_trips import counting_dynamodb_calls
from local.stack import LocalStack


@pytest.fixture(autouse=True)
def _own_calls_only(clean_stack: LocalStack) -> Iterator[None]:
    """A Stripe call would run the webhook function within the request, and an event the
    operation publishes would run the events worker alongside it: not its budget."""
    (app_events,) = [p for p in clean_stack.pollers if p.queue == "AppEventsQueue"]
    with clean_stack.stripe_webhooks_paused(), app_events.held():
        yield


@pytest.fixture
def existing(api: httpx.Client) -> httpx.Client:
    api.post(
        "/v1/customers.get_or_create", json={"customer_id": "user_1", "create_in_stripe": True}
    )
    return api


@pytest.mark.parametrize(
    ("path", "body", "budget"),
    [
        ("/v1/customers.get_or_create", {"customer_id": "user_1"}, 1),
        ("/v1/customers.get_or_create", {"customer_id": "user_1", "create_in_stripe": True}, 1),
        ("/v1/customers.get", {"customer_id": "user_1"}, 1),
        # The index holds profiles; each listed customer's holdings are one more read.
        ("/v1/customers.list", {"limit": 10}, 2),
        ("/v1/customers.update", {"customer_id": "user_1", "name": "New"}, 2),
    ],
)
def test_warm_operation_stays_within_its_round_trip_budget(
    existing: httpx.Client, path: str, body: dict[str, object], budget: int
) -> None:
    with counting_dynamodb_calls() as calls:
        response = existing.post(path, json=body)

    assert response.status_code == 200
    assert calls.total == budget, calls.summary()


def test_an_idempotency_key_adds_exactly_its_lock_and_its_record(existing: httpx.Client) -> None:
    with counting_dynamodb_calls() as calls:
        existing.post(
            "/v1/customers.get_or_create",
            json={"customer_id": "user_1"},
            headers={"Idempotency-Key": "budget"},
        )

    assert calls.by_operation == {"PutItem": 1, "Query": 1, "UpdateItem": 1}


def test_a_replayed_request_costs_one_conditional_write_and_nothing_else(
    existing: httpx.Client,
) -> None:
    existing.post("/v1/customers.get", json={"customer_id": "user_1"})
    headers = {"Idempotency-Key": "replay"}
    existing.post(
        "/v1/customers.update", json={"customer_id": "user_1", "name": "A"}, headers=headers
    )

    with counting_dynamodb_calls() as calls:
        replay = existing.post(
            "/v1/customers.update", json={"customer_id": "user_1", "name": "A"}, headers=headers
        )

    assert replay.headers["idempotent-replayed"] == "true"
    assert calls.by_operation == {"PutItem": 1}


@pytest.fixture
def metered_customer(api: httpx.Client) -> httpx.Client:
    api.post(
        "/v1/features.create",
        json={"feature_id": "messages", "name": "Messages", "type": "metered"},
    )
    api.post(
        "/v1/plans.create",
        json={
            "plan_id": "free",
            "name": "Free",
            "auto_enable": True,
            "items": [
                {"feature_id": "messages", "included": 10, "reset": {"interval": "day"}},
                {"feature_id": "messages", "included": 100, "reset": {"interval": "month"}},
            ],
        },
    )
    api.post("/v1/customers.get_or_create", json={"customer_id": "u"})
    # Warm: the hot path keeps the catalog's features in memory between calls.
    api.post("/v1/balances.check", json={"customer_id": "u", "feature_id": "messages"})
    return api


def test_check_is_one_read(metered_customer: httpx.Client) -> None:
    with counting_dynamodb_calls() as calls:
        response = metered_customer.post(
            "/v1/balances.check", json={"customer_id": "u", "feature_id": "messages"}
        )

    assert response.json()["allowed"] is True
    assert calls.by_operation == {"Query": 1}


_ONE_READ_ONE_WRITE = {"Query": 1, "TransactWriteItems": 1}


@pytest.mark.parametrize(
    ("value", "headers", "expected"),
    [
        (1, {}, _ONE_READ_ONE_WRITE),
        (1, {"Idempotency-Key": "one-write"}, _ONE_READ_ONE_WRITE),
        (50, {}, _ONE_READ_ONE_WRITE),
        # The use that takes the last unit keeps `balances.limit_reached` in the outbox with
        # its own transaction, and removes it once SQS has it: one more call, on that use only.
        (500, {}, _ONE_READ_ONE_WRITE | {"DeleteItem": 1}),
    ],
    ids=["one grant", "with a key", "spanning two grants", "hitting the cap"],
)
def test_track_is_one_read_and_one_write_call(
    metered_customer: httpx.Client, value: int, headers: dict[str, str], expected: dict[str, int]
) -> None:
    with counting_dynamodb_calls() as calls:
        response = metered_customer.post(
            "/v1/balances.track",
            json={"customer_id": "u", "feature_id": "messages", "value": value},
            headers=headers,
        )

    assert response.status_code == 200
    assert calls.by_operation == expected
