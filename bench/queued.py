"""Async track: DynamoDB writes the usage worker makes per 1,000 queued uses of one
customer/feature, with the queue polled as Lambda polls it (batches of up to 1,000)."""

from __future__ import annotations

import httpx

from bench.round_trips import counting_dynamodb_calls
from local.stack import LocalStack

USES = 1000
TARGET_WRITES = 10
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}


def report(stack: LocalStack, api: httpx.Client, customer_id: str, feature_id: str) -> list[str]:
    body = {"customer_id": customer_id, "feature_id": feature_id, "value": 1, "async": True}
    stack.drain_queues()  # what earlier operations queued (a deleted customer's purge) first
    before = _remaining(api, customer_id, feature_id)
    (poller,) = [p for p in stack.pollers if p.queue == "TrackQueue"]
    with poller.held(), counting_dynamodb_calls() as enqueue:
        for _ in range(USES):
            api.post("/v1/balances.track", json=body).raise_for_status()
    invocations = poller.invocations
    with counting_dynamodb_calls() as worker:
        stack.drain_queues(timeout_s=120)
    applied = before - _remaining(api, customer_id, feature_id)
    writes = sum(n for op, n in worker.by_operation.items() if op in WRITES)
    return [
        f"enqueue   {USES} async tracks: {enqueue.total} DynamoDB calls ({enqueue.summary()}),"
        " one SQS message each",
        f"worker    {poller.invocations - invocations} invocation(s): {worker.summary()}",
        f"          {writes} DynamoDB writes per {USES} queued uses (target <= {TARGET_WRITES}),"
        f" {applied:g} units applied",
    ]


def _remaining(api: httpx.Client, customer_id: str, feature_id: str) -> float:
    answer = api.post("/v1/customers.get", json={"customer_id": customer_id}).json()
    return float(answer["balances"][feature_id]["remaining"])
