"""Counting DynamoDB round trips with botocore's own event hooks on the functions' client."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class DynamoDBCalls:
    """Every API call the billing package's DynamoDB client makes, by operation name."""

    def __init__(self) -> None:
        self.by_operation: Counter[str] = Counter()

    @property
    def total(self) -> int:
        return sum(self.by_operation.values())

    def _count(self, model: Any, **_: Any) -> None:
        self.by_operation[model.name] += 1

    def summary(self) -> str:
        return ", ".join(f"{name} {n}" for name, n in sorted(self.by_operation.items()))


@contextmanager
def counting_dynamodb_calls() -> Iterator[DynamoDBCalls]:
    from billing.store.table import client

    calls = DynamoDBCalls()
    events = client().meta.events
    # before-call fires once per API call, after botocore's own retries are decided: a
    # retried call would count again, which is what a round-trip budget should see.
    events.register("before-call.dynamodb", calls._count, unique_id="bench-count")
    try:
        yield calls
    finally:
        events.unregister("before-call.dynamodb", unique_id="bench-count")
