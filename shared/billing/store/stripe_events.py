"""Stripe events received by the webhook: `STRIPE_EVT#<event id>` items, one per event id.

Each holds the claim that makes an event take effect once, and what the next steps of the
lifecycle need (its type, `created`, object and raw body, for ordering and audits):

- PROCESSING: a delivery holds the event until `lease_until_ms` (its claim token says which);
- COMPLETED: its effects are done (`outcome`: handled, or ignored for a type we skip);
- FAILED: the last delivery's handler failed; the next delivery takes it again.

A PROCESSING claim whose lease ran out (a crashed invocation) is free again, so no event is
ever stuck; a COMPLETED one is kept for the TTL, well past Stripe's retries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from billing.store import keys, writes
from billing.store.table import client, from_item, table_name, translated_errors
from billing.store.writes import ConditionFailed, Write

PROCESSING = "PROCESSING"
COMPLETED = "COMPLETED"
FAILED = "FAILED"

# DynamoDB items hold 400 KB: a larger body is kept only as its size (Stripe can always
# give the event again by its id).
_RAW_LIMIT = 300_000


@dataclass(frozen=True)
class ReceivedEvent:
    """What is kept of a verified event when it is claimed."""

    event_id: str
    type: str
    created: int
    livemode: bool
    object_id: str | None
    object_type: str
    raw: str


@dataclass(frozen=True)
class StoredEvent:
    event_id: str
    status: str
    attempts: int
    outcome: str | None
    raw: str | None


def _key(event_id: str) -> dict[str, Any]:
    return {"PK": {"S": keys.stripe_event_pk(event_id)}, "SK": {"S": keys.STRIPE_EVENT_SK}}


def claim(event: ReceivedEvent, token: str, now_ms: int, lease_ms: int, ttl_s: int) -> str | None:
    """Takes the event for the delivery `token`, keeping it as received. Returns None when
    taken; else the status of the claim that holds it (COMPLETED, or a live PROCESSING)."""
    raw_kept = len(event.raw.encode()) <= _RAW_LIMIT
    values: dict[str, Any] = {
        ":processing": {"S": PROCESSING},
        ":failed": {"S": FAILED},
        ":token": {"S": token},
        ":now": {"N": str(now_ms)},
        ":lease": {"N": str(now_ms + lease_ms)},
        ":type": {"S": event.type},
        ":created": {"N": str(event.created)},
        ":livemode": {"BOOL": event.livemode},
        ":object_id": {"S": event.object_id or ""},
        ":object_type": {"S": event.object_type},
        ":raw": {"S": event.raw} if raw_kept else {"N": str(len(event.raw.encode()))},
        ":ttl": {"N": str(now_ms // 1000 + ttl_s)},
        ":now_s": {"N": str(now_ms // 1000)},
        ":one": {"N": "1"},
    }
    raw_attribute = "raw_event" if raw_kept else "raw_event_bytes"
    update = {
        "TableName": table_name(),
        "Key": _key(event.event_id),
        "UpdateExpression": (
            "SET entity = :entity, #status = :processing, claim_token = :token,"
            " lease_until_ms = :lease, event_type = :type, created = :created,"
            " livemode = :livemode, object_id = :object_id,"
            f" object_type = :object_type, {raw_attribute} = :raw,"
            " received_at_ms = if_not_exists(received_at_ms, :now), #ttl = :ttl"
            " ADD attempts :one"
        ),
        "ConditionExpression": (
            "attribute_not_exists(PK) OR #status = :failed OR #ttl < :now_s"
            " OR (#status = :processing AND lease_until_ms < :now)"
        ),
        "ExpressionAttributeNames": {"#status": "status", "#ttl": "ttl"},
        "ExpressionAttributeValues": {**values, ":entity": {"S": "stripe_event"}},
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    try:
        writes.run([Write("Update", update, on_condition_failed=ConditionFailed)])
    except ConditionFailed as taken:
        held = taken.item
        # No item back: it was deleted in between, and a retry will take it.
        return str(held["status"]["S"]) if held else PROCESSING
    return None


def complete(event_id: str, token: str, outcome: str, now_ms: int) -> bool:
    """Marks the event done, if the delivery `token` still holds it (False otherwise)."""
    return _finish(
        event_id,
        token,
        "SET #status = :status, outcome = :outcome, completed_at_ms = :now"
        " REMOVE lease_until_ms, last_error",
        {
            ":status": {"S": COMPLETED},
            ":outcome": {"S": outcome},
            ":now": {"N": str(now_ms)},
        },
    )


def release(event_id: str, token: str, error_type: str) -> bool:
    """Frees the event after a failed delivery, so Stripe's next delivery processes it."""
    return _finish(
        event_id,
        token,
        "SET #status = :status, last_error = :error REMOVE lease_until_ms",
        {":status": {"S": FAILED}, ":error": {"S": error_type[:200]}},
    )


def _finish(event_id: str, token: str, update: str, values: dict[str, Any]) -> bool:
    finish = {
        "TableName": table_name(),
        "Key": _key(event_id),
        "UpdateExpression": update,
        "ConditionExpression": "claim_token = :token AND #status = :processing",
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": {
            **values,
            ":token": {"S": token},
            ":processing": {"S": PROCESSING},
        },
    }
    try:
        writes.run([Write("Update", finish, on_condition_failed=ConditionFailed)])
    except ConditionFailed:
        return False  # the lease ran out and another delivery took the event over
    return True


def get(event_id: str) -> StoredEvent | None:
    with translated_errors():
        found = (
            client()
            .get_item(TableName=table_name(), Key=_key(event_id), ConsistentRead=True)
            .get("Item")
        )
    if found is None:
        return None
    item = from_item(found)
    return StoredEvent(
        event_id=event_id,
        status=item["status"],
        attempts=item["attempts"],
        outcome=item.get("outcome"),
        raw=item.get("raw_event"),
    )
