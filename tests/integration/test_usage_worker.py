"""The usage worker given SQS batches directly, as Lambda gives them: how many writes a batch
costs, what a retried batch does, and which messages a partial failure hands back."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from local.gateway import FunctionPool
from local.stack import LocalStack
from local.template import load_template, queue_sources
from tests.conftest import table_items

# Queued a minute ago: within the range events.list shows by default.
NOW = int(time.time() * 1000) - 60_000


@pytest.fixture
def worker(api: httpx.Client) -> FunctionPool:
    api.post(
        "/v1/features.create",
        json={"feature_id": "messages", "name": "Messages", "type": "metered"},
    )
    for customer_id in ("a", "b"):
        api.post("/v1/customers.get_or_create", json={"customer_id": customer_id})
        api.post(
            "/v1/balances.create",
            json={"customer_id": customer_id, "feature_id": "messages", "included_grant": 1000},
        )
    (source,) = [s for s in queue_sources(load_template()) if s.queue == "TrackQueue"]
    return FunctionPool(source.function)


@pytest.fixture
def dynamodb_calls() -> Iterator[Counter[str]]:
    from billing.store.table import client

    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    client().meta.events.register("before-call.dynamodb", count, unique_id="test-count")
    yield calls
    client().meta.events.unregister("before-call.dynamodb", unique_id="test-count")


def batch(uses: list[tuple[str, float]], offset: int = 0) -> dict[str, Any]:
    """An SQS event of queued uses (customer, value), one message each."""
    records = []
    for n, (customer_id, value) in enumerate(uses, start=offset):
        use = {
            "event_id": f"evt_{n:06d}",
            "queued_at": NOW + n,
            "customer_id": customer_id,
            "feature_id": "messages",
            "value": value,
            "timestamp": NOW + n,
        }
        records.append({"messageId": f"msg-{n}", "body": json.dumps(use)})
    return {"Records": records}


def remaining(api: httpx.Client, customer_id: str) -> float:
    answer = api.post("/v1/customers.get", json={"customer_id": customer_id}).json()
    return float(answer["balances"]["messages"]["remaining"])


def test_a_batch_of_250_uses_of_one_customer_costs_one_read_and_three_writes(
    worker: FunctionPool, api: httpx.Client, dynamodb_calls: Counter[str]
) -> None:
    answer = worker.invoke(batch([("a", 1)] * 250))

    assert answer == {"batchItemFailures": []}
    assert dynamodb_calls == {"Query": 1, "TransactWriteItems": 3}
    assert remaining(api, "a") == 750


def test_a_batch_lambda_delivers_again_after_a_crash_is_applied_once(
    worker: FunctionPool, api: httpx.Client
) -> None:
    event = batch([("a", 2)] * 120)

    worker.invoke(event)
    again = worker.invoke(event)

    assert again == {"batchItemFailures": []}
    assert remaining(api, "a") == 760


def test_a_batch_partly_seen_before_applies_only_the_new_uses(
    worker: FunctionPool, api: httpx.Client
) -> None:
    worker.invoke(batch([("a", 1)] * 30))

    worker.invoke(batch([("a", 1)] * 50))  # the same first 30 ids, and 20 new ones

    assert remaining(api, "a") == 950
    listed = api.post("/v1/events.list", json={"customer_id": "a", "limit": 100}).json()
    assert len(listed["list"]) == 50


def test_uses_of_several_customers_are_applied_each_to_their_own(
    worker: FunctionPool, api: httpx.Client
) -> None:
    worker.invoke(batch([("a", 1), ("b", 5)] * 40))

    assert remaining(api, "a") == 960
    assert remaining(api, "b") == 800


def test_only_the_messages_of_a_customer_whose_write_failed_are_handed_back(
    worker: FunctionPool, api: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from billing.domain.customers import Customer
    from billing.domain.errors import StoreUnavailable
    from billing.store import usage

    record_batch = usage.record_batch

    def throttled_for_b(customer: Customer, *args: Any, **kwargs: Any) -> None:
        if customer.id == "b":
            raise StoreUnavailable
        record_batch(customer, *args, **kwargs)

    monkeypatch.setattr(usage, "record_batch", throttled_for_b)

    answer = worker.invoke(batch([("a", 1), ("b", 1)] * 3))

    handed_back = sorted(f["itemIdentifier"] for f in answer["batchItemFailures"])
    assert handed_back == ["msg-1", "msg-3", "msg-5"]
    assert remaining(api, "a") == 997
    assert remaining(api, "b") == 1000


def test_a_use_applied_by_the_worker_is_listed_with_its_own_id_and_time(
    worker: FunctionPool, api: httpx.Client, clean_stack: LocalStack
) -> None:
    worker.invoke(batch([("a", 4)]))

    (event,) = api.post("/v1/events.list", json={"customer_id": "a"}).json()["list"]

    assert event["id"] == "evt_000000"
    assert event["value"] == 4
    assert event["timestamp"] == NOW


def test_a_use_of_a_feature_gone_since_it_was_queued_does_not_hold_back_the_others(
    worker: FunctionPool, api: httpx.Client
) -> None:
    event = batch([("a", 1)] * 3)
    gone = json.loads(event["Records"][1]["body"]) | {"feature_id": "deleted_since"}
    event["Records"][1]["body"] = json.dumps(gone)

    answer = worker.invoke(event)

    assert answer == {"batchItemFailures": []}
    assert remaining(api, "a") == 998


def test_a_poison_use_fails_alone_and_the_other_customers_uses_are_applied(
    worker: FunctionPool, api: httpx.Client
) -> None:
    event = batch([("a", 1), ("b", 2)] * 5)
    poison = json.loads(event["Records"][4]["body"]) | {"timestamp": 253_402_300_800_000}
    event["Records"][4]["body"] = json.dumps(poison)

    answer = worker.invoke(event)

    assert answer == {"batchItemFailures": [{"itemIdentifier": "msg-4"}]}
    assert remaining(api, "a") == 996
    assert remaining(api, "b") == 990


def test_a_use_that_breaks_its_write_fails_alone_not_its_customer(
    worker: FunctionPool, api: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from billing.store import usage

    record_batch = usage.record_batch

    def refusing_one_use(customer_pk: str, changes: Any, events: Any, *args: Any) -> None:
        # What a store refusing one use's write looks like: not a busy store, an error.
        if any(e.id == "evt_000002" for e in events):
            raise ValueError("this use cannot be written")
        record_batch(customer_pk, changes, events, *args)

    monkeypatch.setattr(usage, "record_batch", refusing_one_use)

    answer = worker.invoke(batch([("a", 1), ("b", 2)] * 3))

    assert answer == {"batchItemFailures": [{"itemIdentifier": "msg-2"}]}
    assert remaining(api, "a") == 998
    assert remaining(api, "b") == 994
    listed = api.post("/v1/events.list", json={"customer_id": "a"}).json()["list"]
    assert sorted(e["id"] for e in listed) == ["evt_000000", "evt_000004"]


def test_uses_queued_a_second_apart_are_cut_into_transactions_of_at_most_100_items(
    worker: FunctionPool, api: httpx.Client, dynamodb_calls: Counter[str]
) -> None:
    event = batch([("a", 1)] * 150)
    for n, record in enumerate(event["Records"]):
        # Each use in a queue second of its own: an applied-ids item each.
        use = json.loads(record["body"]) | {"queued_at": NOW + n * 1000, "timestamp": NOW}
        record["body"] = json.dumps(use)

    answer = worker.invoke(event)

    assert answer == {"batchItemFailures": []}
    # 2 fences, the grant, an event batch and 96 applied-ids items, then the other 54 uses.
    assert dynamodb_calls == {"Query": 1, "TransactWriteItems": 2}
    assert remaining(api, "a") == 850


# One customer's uses queued over one minute at 250 a second: past the ~243 a second whose
# ids outgrew DynamoDB's 400 KB item when the worker kept them in one item per queue minute.
HOT_MINUTE_USES = 15_000
ITEM_LIMIT_BYTES = 400 * 1024


def test_a_hot_customers_minute_of_queued_uses_fits_dynamodb_items_and_counts_each_use_once(
    worker: FunctionPool, api: httpx.Client, clean_stack: LocalStack
) -> None:
    from bench.capacity import item_size
    from billing import clock

    minute = NOW // 60_000 * 60_000
    records = [
        {
            "messageId": f"hot-{n}",
            "body": json.dumps(
                {
                    "event_id": clock.new_internal_id("evt"),  # as track_later names them
                    "queued_at": minute + n * 4,
                    "customer_id": "a",
                    "feature_id": "messages",
                    "value": 0.01,
                    "timestamp": minute + n * 4,
                }
            ),
        }
        for n in range(HOT_MINUTE_USES)
    ]
    deliveries = [records[at : at + 1000] for at in range(0, HOT_MINUTE_USES, 1000)]
    for delivery in deliveries:
        assert worker.invoke({"Records": delivery}) == {"batchItemFailures": []}

    # SQS delivers again: uses from the first and the last seconds of the minute.
    again = worker.invoke({"Records": deliveries[0][:500] + deliveries[-1][500:]})

    assert again == {"batchItemFailures": []}
    assert remaining(api, "a") == 850  # 15,000 uses of 0.01, each once
    applied = [i for i in table_items(clean_stack) if i["PK"]["S"].startswith("APPLIED#")]
    kept = sorted(event_id for item in applied for event_id in item["applied_ids"]["SS"])
    assert kept == sorted(json.loads(r["body"])["event_id"] for r in records)
    # moto takes an item of any size in a transaction; DynamoDB refuses one over 400 KB.
    assert max(item_size(item) for item in applied) <= ITEM_LIMIT_BYTES
