"""balances.track with `async: true`: queued (SQS in moto), applied by the usage worker.

Everything goes through the local stack: the HTTP API queues, the poller feeds the worker
function batches as Lambda's SQS event source does, and the worker writes to moto server.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import httpx
import pytest

from local.stack import LocalStack
from tests.conftest import remaining_messages, table_items, with_metered_balance


@pytest.fixture
def customer(api: httpx.Client) -> httpx.Client:
    return with_metered_balance(api, included=1000)


remaining = remaining_messages


def track_later(api: httpx.Client, value: float = 1, **extra: Any) -> httpx.Response:
    body = {"customer_id": "u", "feature_id": "messages", "value": value, "async": True}
    return api.post("/v1/balances.track", json=body | extra.pop("body", {}), **extra)


def all_events(api: httpx.Client, limit: int = 100) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = []
    cursor = None
    while True:
        body: dict[str, Any] = {"customer_id": "u", "limit": limit}
        if cursor:
            body["start_cursor"] = cursor
        page = api.post("/v1/events.list", json=body).json()
        listed += page["list"]
        cursor = page["next_cursor"]
        if not cursor:
            return listed


def sqs(stack: LocalStack) -> Any:
    return boto3.client("sqs", endpoint_url=stack.sqs_url, region_name="us-east-1")


def test_an_async_track_answers_202_without_a_balance_and_is_applied_by_the_worker(
    customer: httpx.Client, clean_stack: LocalStack
) -> None:
    answer = track_later(customer, 5)

    assert answer.status_code == 202
    assert answer.json() == {"customer_id": "u", "value": 5, "balance": None}
    clean_stack.drain_queues()
    assert remaining(customer) == 995
    assert [e["value"] for e in all_events(customer)] == [5]


def test_many_queued_uses_are_each_applied_once_and_listed_once(
    customer: httpx.Client, clean_stack: LocalStack
) -> None:
    for _ in range(250):
        assert track_later(customer).status_code == 202

    clean_stack.drain_queues()

    events = all_events(customer, limit=7)
    assert remaining(customer) == 750
    assert len(events) == 250
    assert len({e["id"] for e in events}) == 250
    assert [e["timestamp"] for e in events] == sorted(
        (e["timestamp"] for e in events), reverse=True
    )


def test_queued_uses_stop_at_zero_with_cap_and_go_negative_with_overflow_where_allowed(
    customer: httpx.Client, clean_stack: LocalStack
) -> None:
    track_later(customer, 990)
    track_later(customer, 20)
    clean_stack.drain_queues()

    assert remaining(customer) == 0
    assert sum(e["value"] for e in all_events(customer)) == 1010  # the events say what was sent


def test_a_retried_idempotency_key_queues_one_use_and_replays_the_first_answer(
    customer: httpx.Client, clean_stack: LocalStack
) -> None:
    headers = {"Idempotency-Key": "async-1"}

    first = track_later(customer, 3, headers=headers)
    again = track_later(customer, 3, headers=headers)
    clean_stack.drain_queues()

    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert remaining(customer) == 997
    assert len(all_events(customer)) == 1


def test_the_same_idempotency_key_with_another_body_is_a_conflict(
    customer: httpx.Client, clean_stack: LocalStack
) -> None:
    headers = {"Idempotency-Key": "async-2"}
    track_later(customer, 3, headers=headers)

    other = track_later(customer, 4, headers=headers)

    assert other.status_code == 409
    clean_stack.drain_queues()
    assert remaining(customer) == 997


def test_a_message_delivered_twice_is_applied_once(
    customer: httpx.Client, clean_stack: LocalStack
) -> None:
    # Given a queued use, captured before the worker sees it and sent again (at-least-once)
    queue_url = clean_stack.pollers[0].queue_url
    message = {
        "event_id": "evt_twice",
        "queued_at": 1_700_000_000_000,
        "customer_id": "u",
        "feature_id": "messages",
        "value": 7,
        "timestamp": 1_700_000_000_000,
    }
    for _ in range(3):
        sqs(clean_stack).send_message(QueueUrl=queue_url, MessageBody=json.dumps(message))

    clean_stack.drain_queues()

    assert remaining(customer) == 993
    applied = [i for i in table_items(clean_stack) if i["PK"]["S"].startswith("APPLIED#")]
    assert applied[0]["applied_ids"]["SS"] == ["evt_twice"]


def test_an_unknown_feature_is_refused_and_nothing_is_queued(
    customer: httpx.Client, clean_stack: LocalStack
) -> None:
    answer = track_later(customer, body={"feature_id": "nope"})

    assert answer.status_code == 404
    assert answer.json()["code"] == "feature_not_found"
    clean_stack.drain_queues()
    assert remaining(customer) == 1000


def test_uses_of_an_unknown_customer_are_dropped_not_retried_forever(
    customer: httpx.Client, clean_stack: LocalStack
) -> None:
    answer = track_later(customer, body={"customer_id": "ghost"})
    clean_stack.drain_queues()

    assert answer.status_code == 202
    assert remaining(customer) == 1000
    assert not [i for i in table_items(clean_stack) if "ghost" in i["PK"]["S"]]


def test_async_and_sync_tracks_racing_never_take_more_than_the_balance(
    customer: httpx.Client, clean_stack: LocalStack
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def both(i: int) -> int:
        if i % 2:
            return track_later(customer, 10).status_code
        body = {"customer_id": "u", "feature_id": "messages", "value": 10}
        return customer.post("/v1/balances.track", json=body).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(both, range(160)))
    clean_stack.drain_queues()

    assert sorted(set(statuses)) == [200, 202]
    assert remaining(customer) == 0


def test_a_message_the_worker_cannot_read_ends_in_the_dead_letter_queue(
    customer: httpx.Client, clean_stack: LocalStack
) -> None:
    queue_url = clean_stack.pollers[0].queue_url
    dead_letters = queue_url.replace("TrackQueue", "TrackDeadLetterQueue")
    sqs(clean_stack).send_message(QueueUrl=queue_url, MessageBody='{"not": "a queued use"}')

    clean_stack.drain_queues()

    landed = sqs(clean_stack).receive_message(QueueUrl=dead_letters, MaxNumberOfMessages=10)
    assert [m["Body"] for m in landed.get("Messages", [])] == ['{"not": "a queued use"}']
    assert remaining(customer) == 1000
