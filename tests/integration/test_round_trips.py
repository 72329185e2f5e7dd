"""The DynamoDB round-trip budget of the customers operations, counted with botocore hooks."""

from __future__ import annotations

import httpx
import pytest

from bench.round_trips import counting_dynamodb_calls


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
