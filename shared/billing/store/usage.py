"""Writing a use of features: the grants' usage, the usage event, and (with an
Idempotency-Key) the marker holding the answer, all in one transaction.

Every grant update carries a condition that makes it exact whatever runs concurrently: a
deduction keeps usage within what was granted (unless it is the overage), a give-back never
takes usage below zero, and a reset applies only if nobody applied it first. When a
condition fails, DynamoDB hands back the item as it is now, and the caller decides again.
"""

import json
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any, NamedTuple, TypeVar

from botocore.exceptions import ClientError

from billing import clock, numbers
from billing.domain.customers import Customer
from billing.domain.usage import Deduction, GrantChange
from billing.store import idempotency, keys
from billing.store.holding_items import OWNER
from billing.store.idempotency import StoredRequest
from billing.store.profiles import pk_of, required
from billing.store.table import Item, cancellation_codes, table_name
from billing.store.writes import Write, transact


class UsageEvent(NamedTuple):
    id: str
    customer_id: str
    feature_id: str | None
    event_name: str | None
    value: Decimal
    timestamp: int
    properties: dict[str, Any]
    idempotency_key: str | None = None
    # The features it used (an event name can use several) and what each grant gave.
    feature_ids: tuple[str, ...] = ()
    deductions: tuple[dict[str, Any], ...] = ()


class GrantsMoved(Exception):
    """A grant changed since it was read (or the customer moved, or a concurrent write
    conflicted): read again and decide again."""

    def __init__(self) -> None:
        super().__init__("a grant changed since it was read")


class KeyHeld(Exception):
    """The Idempotency-Key is held by another request: `holder` is its record."""

    def __init__(self, holder: StoredRequest) -> None:
        super().__init__("this Idempotency-Key is held")
        self.holder = holder


def record(
    customer: Customer,
    deductions: list[Deduction],
    event: UsageEvent,
    answers: Sequence[dict[str, Any]] = (),
    also: Sequence[Write] = (),
) -> None:
    """Writes the use, and `also` (what it causes, e.g. outbox entries); with `answers` (each
    Idempotency-Key's record, built by `services.idempotency`), only if every key is free, as
    the last items of the transaction. Raises KeyHeld when one is held, GrantsMoved when a
    grant changed, or the customer is gone or moving."""
    customer_pk = pk_of(customer)
    ops = _fences(customer, clock.now_ms(), [event.timestamp])
    ops += [_grant_update(customer_pk, change) for d in deductions for change in d.changes]
    ops.append(
        {"Put": {"TableName": table_name(), "Item": _event_item(customer.internal_id, event)}}
    )
    ops.extend({write.kind: write.params} for write in also)
    ops.extend(answers)
    cancelled = transact(ops)
    if cancelled is not None:
        raise _why_cancelled(cancelled, keyed=len(answers)) from cancelled


class AlreadyApplied(Exception):
    """Some queued uses were applied by an earlier delivery of their messages."""

    def __init__(self, event_ids: set[str]) -> None:
        super().__init__("some queued uses were already applied")
        self.event_ids = event_ids


T = TypeVar("T")

# Events of queued uses are batched by the minute of event time.
MINUTE_MS = 60_000
# The ids of applied uses are kept by the second of queue time, one item each: an item holds
# one customer's uses queued in that second (about 14,600 ids of 28 bytes fit DynamoDB's
# 400 KB item). A minute's item reached 400 KB at ~243 queued uses a second, and every chunk's
# write was charged for the whole item: a second's stays small, and a chunk (its uses in
# queue order) touches one or two of them.
APPLIED_SPAN_MS = 1_000

# How long the worker remembers applied queued uses: longer than SQS keeps a message
# (14 days at most), so even a message redriven from the dead-letter queue is recognised.
APPLIED_MEMORY_S = 15 * 86_400


def record_batch(
    customer: Customer,
    changes: list[GrantChange],
    events: list[UsageEvent],
    queued_at: dict[str, int],
    now_ms: int,
) -> None:
    """Applies queued uses at once: the grants' combined changes, the events (a batch item
    per minute of event time), and the ids of the uses applied, which this write requires
    to be new (an item per second of queue time). `queued_at` gives each event id its queue
    time (ms)."""
    customer_pk, owner = pk_of(customer), customer.internal_id
    ops = _fences(customer, now_ms, [event.timestamp for event in events])
    ops += [_grant_update(customer_pk, change) for change in changes]
    ops += [
        _applied_update(owner, second, ids, now_ms)
        for second, ids in _by_span(sorted(queued_at), queued_at.__getitem__, APPLIED_SPAN_MS)
    ]
    ops += [
        {
            "Put": {
                "TableName": table_name(),
                "Item": _batch_item(owner, batch),
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        }
        # One batch item per minute of event time: one month partition each, and never
        # further apart than `store.events.BATCH_SPAN_MS`.
        for _, batch in _by_span(events, lambda event: event.timestamp, MINUTE_MS)
    ]
    cancelled = transact(ops)
    if cancelled is None:
        return
    reasons: list[dict[str, Any]] = cancelled.response.get("CancellationReasons", [])  # type: ignore[assignment]
    seen = {
        event_id
        for reason, code in zip(reasons, cancellation_codes(cancelled), strict=False)
        if code == "ConditionalCheckFailed" and "applied_ids" in reason.get("Item", {})
        for event_id in reason["Item"]["applied_ids"]["SS"]
    }
    if seen & set(queued_at):
        raise AlreadyApplied(seen & set(queued_at)) from cancelled
    raise GrantsMoved from cancelled


def _fences(customer: Customer, now_ms: int, timestamps: list[int]) -> list[dict[str, Any]]:
    """What a use's transaction starts with (so the key's record stays the last): the
    customer these grants belong to still exists and is not moving; and, for an event in
    a month before any of its others, that month noted, so a purge knows where to start."""
    check = required(customer, now_ms)
    ops: list[dict[str, Any]] = [{check.kind: check.params}]
    since = events_since_after(customer, timestamps)
    if since is not None and since != customer.events_since:
        ops.append(_events_since_update(customer, since))
    return ops


def events_since_after(customer: Customer, timestamps: list[int]) -> str | None:
    """The customer's first month of usage once events of these times are written."""
    months = [keys.event_month(t) for t in timestamps]
    if customer.events_since is not None:
        months.append(customer.events_since)
    return min(months, default=None)


def _events_since_update(customer: Customer, month: str) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": table_name(),
            "Key": {"PK": {"S": pk_of(customer)}, "SK": {"S": keys.EVENTS_SINCE}},
            "UpdateExpression": "SET #since = :month, #owner = :owner",
            # Never later than it is (a concurrent use may have noted an earlier month).
            "ConditionExpression": (
                "attribute_not_exists(#since) OR #owner <> :owner OR #since >= :month"
            ),
            "ExpressionAttributeNames": {"#since": "since", "#owner": OWNER},
            "ExpressionAttributeValues": {
                ":month": {"S": month},
                ":owner": {"S": customer.internal_id},
            },
        }
    }


def _grant_update(customer_pk: str, change: GrantChange) -> dict[str, Any]:
    grant = change.grant
    names = {"#usage": "usage"}
    values: dict[str, Any] = {}
    conditions = ["attribute_exists(PK)"]
    if change.reset_from is not None:
        # The reset and the new usage at once, applied only by the first who sees it due.
        update = "SET #usage = :usage, #next = :next"
        values[":usage"] = {"N": numbers.text(change.usage_after)}
        values[":next"] = (
            {"N": str(grant.next_reset_at)} if grant.next_reset_at is not None else {"NULL": True}
        )
        values[":due"] = {"N": str(change.reset_from)}
        conditions.append("#next = :due")
        names["#next"] = "next_reset_at"
    else:
        delta = change.usage_after - change.usage_before
        update = "SET #usage = #usage + :delta"
        values[":delta"] = {"N": numbers.text(delta)}
        if delta > 0 and change.usage_after <= grant.granted and not grant.unlimited:
            values[":most"] = {"N": numbers.text(grant.granted - delta)}
            conditions.append("#usage <= :most")
        elif delta < 0:
            values[":least"] = {"N": numbers.text(-delta)}
            conditions.append("#usage >= :least")
        if grant.next_reset_at is not None:
            values[":next_now"] = {"N": str(grant.next_reset_at)}
            conditions.append("#next = :next_now")
            names["#next"] = "next_reset_at"
    return {
        "Update": {
            "TableName": table_name(),
            "Key": {
                "PK": {"S": customer_pk},
                "SK": {"S": keys.grant_sk(grant.feature_id, grant.id)},
            },
            "UpdateExpression": update,
            "ConditionExpression": " AND ".join(conditions),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def _by_span(items: Iterable[T], at: Callable[[T], int], span_ms: int) -> list[tuple[int, list[T]]]:
    """The items grouped by the span (minute, second) `at(item)` falls in, earliest first."""
    spans: dict[int, list[T]] = {}
    for item in items:
        spans.setdefault(at(item) // span_ms, []).append(item)
    return sorted(spans.items(), key=lambda pair: pair[0])


def _applied_update(owner: str, second: int, event_ids: list[str], now_ms: int) -> dict[str, Any]:
    """Adds the ids to the set of uses applied that were queued in this second, on the
    condition that none of them is in it yet."""
    names = [f":e{i}" for i in range(len(event_ids))]
    return {
        "Update": {
            "TableName": table_name(),
            "Key": {
                "PK": {"S": keys.applied_pk(owner)},
                "SK": {"S": keys.applied_sk(second)},
            },
            "UpdateExpression": "ADD #ids :ids SET #ttl = :ttl",
            "ConditionExpression": " AND ".join(f"NOT contains(#ids, {n})" for n in names),
            "ExpressionAttributeNames": {"#ids": "applied_ids", "#ttl": "ttl"},
            "ExpressionAttributeValues": {
                ":ids": {"SS": event_ids},
                ":ttl": {"N": str(now_ms // 1000 + APPLIED_MEMORY_S)},
                **{n: {"S": e} for n, e in zip(names, event_ids, strict=True)},
            },
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def _batch_item(owner: str, batch: list[UsageEvent]) -> Item:
    newest = max(batch, key=lambda e: (e.timestamp, e.id))
    first = min(e.id for e in batch)
    return {
        "PK": {"S": keys.event_pk(owner, newest.timestamp)},
        # Sorted under its newest event; named by its first id, so one batch is one item.
        "SK": {"S": keys.event_sk(newest.timestamp, first)},
        "entity": {"S": "usage_batch"},
        "customer_id": {"S": newest.customer_id},
        "feature_ids": {"L": [{"S": f} for f in sorted({f for e in batch for f in e.feature_ids})]},
        "events_json": {
            "S": numbers.dumps(
                [
                    {
                        "id": e.id,
                        "timestamp": e.timestamp,
                        "value": e.value,
                        "feature_ids": list(e.feature_ids),
                        "properties": e.properties,
                        "deductions": list(e.deductions),
                    }
                    for e in batch
                ]
            )
        },
    }


def _event_item(owner: str, event: UsageEvent) -> Item:
    item: Item = {
        "PK": {"S": keys.event_pk(owner, event.timestamp)},
        "SK": {"S": keys.event_sk(event.timestamp, event.id)},
        "entity": {"S": "usage_event"},
        "event_id": {"S": event.id},
        "customer_id": {"S": event.customer_id},
        "value": {"N": numbers.text(event.value)},
        "timestamp": {"N": str(event.timestamp)},
        "properties_json": {"S": json.dumps(event.properties, separators=(",", ":"))},
        "deductions_json": {"S": numbers.dumps(list(event.deductions))},
        "feature_ids": {"L": [{"S": f} for f in event.feature_ids]},
    }
    if event.feature_id is not None:
        item["feature_id"] = {"S": event.feature_id}
    if event.event_name is not None:
        item["event_name"] = {"S": event.event_name}
    if event.idempotency_key is not None:
        item["idempotency_key"] = {"S": event.idempotency_key}
    return item


def _why_cancelled(error: ClientError, keyed: int) -> Exception:
    """Why the transaction was refused; `keyed` is how many idempotency records end it."""
    reasons: list[dict[str, Any]] = error.response.get("CancellationReasons", [])  # type: ignore[assignment]
    codes = cancellation_codes(error)
    for at in range(len(codes) - keyed, len(codes)):
        if at >= 0 and codes[at] == "ConditionalCheckFailed":
            return KeyHeld(idempotency.held_by(reasons[at].get("Item", {})))
    # A grant's condition, or a transaction conflicting with a concurrent one: decide again.
    return GrantsMoved()
