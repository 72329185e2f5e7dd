"""Reading usage events back: a customer's events in a time range, newest first, across the
monthly partitions `store.usage` writes them to."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from billing import numbers
from billing.domain.errors import InvalidRequest
from billing.domain.reports import StoredEvent
from billing.store import cursors, keys
from billing.store.table import client, table_name, translated_errors
from billing.store.usage import MINUTE_MS

# Queued uses are stored in batches (see `store.usage.record_batch`): one item holds events
# up to this far apart, sorted under its newest event. Reading a range looks this much past
# its end, so a batch straddling the end is not missed, and keeps just the events inside.
BATCH_SPAN_MS = MINUTE_MS


def page(
    owner: str,
    customer_id: str,
    start_ms: int,
    end_ms: int,
    feature_id: set[str] | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[StoredEvent], str | None]:
    """Up to `limit` events, newest first; the cursor resumes exactly after the last one.

    A cursor names the item the page stopped in and how many of its events were shown,
    since a batch item can hold more events than are left to fill a page."""
    found: list[StoredEvent] = []
    resume = (
        cursors.decode(cursor, {"PK", "SK", "N"}, lambda key: _is_resume_point(key, owner))
        if cursor
        else None
    )
    for pk in _months(owner, start_ms, end_ms):
        if resume is not None and pk != resume["PK"]["S"]:
            continue  # before the cursor's month, in our newest-first walk
        lowest, highest = keys.event_sk_range(start_ms, end_ms + BATCH_SPAN_MS)
        upper = resume["SK"]["S"] if resume is not None else highest
        shown = int(resume["N"]["S"]) if resume is not None else 0
        resume = None
        start_key = None
        while True:
            response = _query(pk, lowest, upper, feature_id, limit - len(found) + 1, start_key)
            for item in response.get("Items", []):
                inside = [
                    e
                    for e in _events(item, customer_id)
                    if start_ms <= e.timestamp <= end_ms
                    and (not feature_id or feature_id.intersection(e.feature_ids))
                ]
                skip = shown if item["SK"]["S"] == upper else 0
                for taken, event in enumerate(inside[skip:], start=skip):
                    if len(found) == limit:
                        return found, cursors.encode(
                            {"PK": item["PK"], "SK": item["SK"], "N": {"S": str(taken)}}
                        )
                    found.append(event)
            start_key = response.get("LastEvaluatedKey")
            if start_key is None:
                break
    return found, None


def all_in(
    owner: str, customer_id: str, start_ms: int, end_ms: int, feature_id: set[str] | None, most: int
) -> list[StoredEvent]:
    """Every event in the range (for aggregates), refusing ranges with more than `most`."""
    events, cursor = page(owner, customer_id, start_ms, end_ms, feature_id, None, most + 1)
    if len(events) > most or (cursor is not None and len(events) >= most):
        raise InvalidRequest(
            f"The range holds more than {most} events: aggregate a shorter range.",
            details=[{"field": "range", "message": f"more than {most} events"}],
        )
    return events


# A use may be tracked with a timestamp up to this far ahead.
LATEST_AHEAD_MS = 86_400_000


def partitions_since(owner: str, since: str, now_ms: int) -> list[str]:
    """Every partition holding events (or applied-use sets) of a customer whose earliest
    events are in `since` (yyyymm): the applied-use sets, then the months newest first."""
    earliest = datetime(int(since[:4]), int(since[4:]), 1, tzinfo=UTC)
    months = _months(owner, int(earliest.timestamp() * 1000), now_ms + LATEST_AHEAD_MS)
    return [keys.applied_pk(owner), *months]


def _query(
    pk: str,
    lower_sk: str,
    upper_sk: str,
    feature_id: set[str] | None,
    limit: int,
    start_key: dict[str, Any] | None,
) -> Any:
    params: dict[str, Any] = {
        "TableName": table_name(),
        "KeyConditionExpression": "PK = :pk AND SK BETWEEN :start AND :end",
        "ExpressionAttributeValues": {
            ":pk": {"S": pk},
            ":start": {"S": lower_sk},
            ":end": {"S": upper_sk},
        },
        "ScanIndexForward": False,
        "Limit": limit,
    }
    if feature_id:
        names = [f":f{i}" for i in range(len(feature_id))]
        params["FilterExpression"] = " OR ".join(f"contains(feature_ids, {n})" for n in names)
        for name, value in zip(names, sorted(feature_id), strict=True):
            params["ExpressionAttributeValues"][name] = {"S": value}
    if start_key:
        params["ExclusiveStartKey"] = start_key
    with translated_errors():
        return client().query(**params)


def _months(owner: str, start_ms: int, end_ms: int) -> list[str]:
    """The monthly partitions covering the range, newest first."""
    end = datetime.fromtimestamp(end_ms / 1000, tz=UTC)
    start = datetime.fromtimestamp(start_ms / 1000, tz=UTC)
    year, month, months = end.year, end.month, []
    while (year, month) >= (start.year, start.month):
        months.append(keys.event_month_pk(owner, year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months


def _is_resume_point(key: dict[str, str], owner: str) -> bool:
    return key["PK"].startswith(keys.events_prefix(owner)) and key["N"].isdigit()


def _events(item: dict[str, Any], customer_id: str) -> list[StoredEvent]:
    """The events an item holds, newest first: one, or a batch of queued uses (shown under
    the customer's id now, which a rename may have changed since)."""
    if "events_json" not in item:
        return [_event(item, customer_id)]
    batch = [
        StoredEvent(
            id=e["id"],
            timestamp=e["timestamp"],
            customer_id=customer_id,
            feature_ids=tuple(e["feature_ids"]),
            value=e["value"],
            properties=e["properties"],
            deductions=e["deductions"],
        )
        for e in numbers.loads(item["events_json"]["S"])
    ]
    return sorted(batch, key=lambda e: (e.timestamp, e.id), reverse=True)


def _event(item: dict[str, Any], customer_id: str) -> StoredEvent:
    return StoredEvent(
        id=item["event_id"]["S"],
        timestamp=int(item["timestamp"]["N"]),
        customer_id=customer_id,
        feature_ids=tuple(v["S"] for v in item.get("feature_ids", {}).get("L", [])),
        value=Decimal(item["value"]["N"]),
        properties=numbers.loads(item.get("properties_json", {}).get("S", "{}")),
        deductions=numbers.loads(item.get("deductions_json", {}).get("S", "[]")),
    )
