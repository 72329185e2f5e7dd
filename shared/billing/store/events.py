"""Reading usage events back: a customer's events in a time range, newest first, across the
monthly partitions `store.usage` writes them to."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from billing.domain.errors import InvalidRequest
from billing.domain.reports import StoredEvent
from billing.store import cursors
from billing.store.table import client, table_name, translated_errors


def page(
    customer_id: str,
    start_ms: int,
    end_ms: int,
    feature_id: set[str] | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[StoredEvent], str | None]:
    """Up to `limit` events, newest first; the cursor resumes exactly after the last one."""
    found: list[StoredEvent] = []
    resume = (
        cursors.decode(cursor, {"PK", "SK"}, lambda key: key["PK"].startswith("EVT#"))
        if cursor
        else None
    )
    for pk in _months(customer_id, start_ms, end_ms):
        if resume is not None and pk != resume["PK"]["S"]:
            continue  # before the cursor's month, in our newest-first walk
        # An empty sort key means "from the top of this month".
        start_key = resume if resume is not None and resume["SK"]["S"] else None
        resume = None
        while len(found) < limit:
            response = _query(pk, start_ms, end_ms, feature_id, limit - len(found), start_key)
            found += [_event(item) for item in response.get("Items", [])]
            start_key = response.get("LastEvaluatedKey")
            if start_key is None:
                break
        if len(found) >= limit:
            return found, cursors.encode(start_key) if start_key else _next_month_cursor(
                pk, customer_id, start_ms
            )
    return found, None


def all_in(
    customer_id: str, start_ms: int, end_ms: int, feature_id: set[str] | None, most: int
) -> list[StoredEvent]:
    """Every event in the range (for aggregates), refusing ranges with more than `most`."""
    events, cursor = page(customer_id, start_ms, end_ms, feature_id, None, most + 1)
    if len(events) > most or (cursor is not None and len(events) >= most):
        raise InvalidRequest(
            f"The range holds more than {most} events: aggregate a shorter range.",
            details=[{"field": "range", "message": f"more than {most} events"}],
        )
    return events


def _query(
    pk: str,
    start_ms: int,
    end_ms: int,
    feature_id: set[str] | None,
    limit: int,
    start_key: dict[str, Any] | None,
) -> Any:
    params: dict[str, Any] = {
        "TableName": table_name(),
        "KeyConditionExpression": "PK = :pk AND SK BETWEEN :start AND :end",
        "ExpressionAttributeValues": {
            ":pk": {"S": pk},
            ":start": {"S": f"{start_ms:015d}"},
            ":end": {"S": f"{end_ms:015d}#~"},
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


def _months(customer_id: str, start_ms: int, end_ms: int) -> list[str]:
    """The monthly partitions covering the range, newest first."""
    end = datetime.fromtimestamp(end_ms / 1000, tz=UTC)
    start = datetime.fromtimestamp(start_ms / 1000, tz=UTC)
    year, month, months = end.year, end.month, []
    while (year, month) >= (start.year, start.month):
        months.append(f"EVT#{customer_id}#{year:04d}{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months


def _next_month_cursor(pk: str, customer_id: str, start_ms: int) -> str | None:
    """The page ended exactly at a month's end: resume at the top of the month before."""
    months = _months(customer_id, start_ms, _month_start_ms(pk) - 1)
    return cursors.encode({"PK": {"S": months[0]}, "SK": {"S": ""}}) if months else None


def _month_start_ms(pk: str) -> int:
    stamp = pk.rsplit("#", 1)[1]
    return int(datetime(int(stamp[:4]), int(stamp[4:]), 1, tzinfo=UTC).timestamp() * 1000)


def _event(item: dict[str, Any]) -> StoredEvent:
    return StoredEvent(
        id=item["event_id"]["S"],
        timestamp=int(item["timestamp"]["N"]),
        customer_id=item["customer_id"]["S"],
        feature_ids=tuple(v["S"] for v in item.get("feature_ids", {}).get("L", [])),
        value=float(item["value"]["N"]),
        properties=json.loads(item.get("properties_json", {}).get("S", "{}")),
        deductions=json.loads(item.get("deductions_json", {}).get("S", "[]")),
    )
