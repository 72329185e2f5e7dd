"""Idempotency records: `IDEM#<key>` items that hold a request's fingerprint and its answer.

The one place that knows their shape and when a key is free. Three ways write them: a lock
taken before a request runs and completed (or released) after it (the middleware); an answer
written in the very transaction that does the work (track, check with `send_event`); an
answer written with the message a queued request sent (async track).
"""

import contextlib
from collections.abc import Sequence
from typing import Any, NamedTuple

from billing.store import keys, writes
from billing.store.table import client, from_item, table_name, translated_errors
from billing.store.writes import ConditionFailed, Write

IN_PROGRESS = "IN_PROGRESS"
COMPLETED = "COMPLETED"


class StoredRequest(NamedTuple):
    fingerprint: str
    status: str
    locked_until_ms: int
    response_status: int | None = None
    response_body: str | None = None
    # What a queued request sent (async track): its retries send the very same message.
    queued_message: str | None = None


# A record whose TTL passed (DynamoDB deletes expired items lazily) or whose unfinished
# request's lock ran out counts as free, so a crashed request never locks a key out.
_FREE = (
    "attribute_not_exists(PK) OR #ttl < :now_s"
    " OR (#status = :in_progress AND locked_until_ms < :now_ms)"
)


def _guarded_put(item: dict[str, Any], now_ms: int) -> dict[str, Any]:
    """A put of `item` that succeeds only while its key is free."""
    return {
        "TableName": table_name(),
        "Item": item,
        "ConditionExpression": _FREE,
        "ExpressionAttributeNames": {"#ttl": "ttl", "#status": "status"},
        "ExpressionAttributeValues": {
            ":now_s": {"N": str(now_ms // 1000)},
            ":now_ms": {"N": str(now_ms)},
            ":in_progress": {"S": IN_PROGRESS},
        },
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


def _key(key: str) -> dict[str, Any]:
    return {"PK": {"S": keys.idempotency_pk(key)}, "SK": {"S": keys.IDEMPOTENCY_SK}}


def _record(key: str, fingerprint: str, status: str, until_ms: int, ttl: int) -> dict[str, Any]:
    return {
        **_key(key),
        "entity": {"S": "idempotency"},
        "fingerprint": {"S": fingerprint},
        "status": {"S": status},
        "locked_until_ms": {"N": str(until_ms)},
        "ttl": {"N": str(ttl)},
    }


def try_lock(
    key: str, fingerprint: str, now_ms: int, lock_ms: int, ttl_s: int
) -> StoredRequest | None:
    """Takes the key for this request. Returns None when taken, else the record holding it."""
    item = _record(key, fingerprint, IN_PROGRESS, now_ms + lock_ms, now_ms // 1000 + ttl_s)
    return _put_unless_held(_guarded_put(item, now_ms))


def answer_put(
    key: str,
    fingerprint: str,
    status: int,
    body: str,
    now_ms: int,
    ttl_s: int,
    queued_message: str | None = None,
) -> dict[str, Any]:
    """A transaction's Put of a final answer under a free key (see `held_by` when refused)."""
    item = _record(key, fingerprint, COMPLETED, now_ms, now_ms // 1000 + ttl_s)
    item["response_status"] = {"N": str(status)}
    item["response_body"] = {"S": body}
    if queued_message is not None:
        item["queued_message"] = {"S": queued_message}
    return {"Put": _guarded_put(item, now_ms)}


def held_by(old_item: dict[str, Any]) -> "StoredRequest":
    """The record that held the key, from a refused put's old item (any of the three kinds)."""
    old = from_item(old_item)
    return StoredRequest(
        fingerprint=old["fingerprint"],
        status=old["status"],
        locked_until_ms=old["locked_until_ms"],
        response_status=old.get("response_status"),
        response_body=old.get("response_body"),
        queued_message=old.get("queued_message"),
    )


def held(key: str, now_ms: int) -> StoredRequest | None:
    """The record holding the key now, if any (one consistent read)."""
    with translated_errors():
        item = client().get_item(TableName=table_name(), Key=_key(key), ConsistentRead=True)
    found = item.get("Item")
    if found is None or int(found["ttl"]["N"]) < now_ms // 1000:
        return None
    record = held_by(dict(found))
    if record.status == IN_PROGRESS and record.locked_until_ms < now_ms:
        return None
    return record


def record_queued(
    keys_claimed: Sequence[str],
    fingerprint: str,
    status: int,
    body: str,
    message: str,
    now_ms: int,
    ttl_s: int,
) -> StoredRequest | None:
    """Keeps a queued request's answer and message under each of its keys, all or none,
    unless one is held: then returns the record holding it."""
    puts = [
        answer_put(key, fingerprint, status, body, now_ms, ttl_s, queued_message=message)
        for key in keys_claimed
    ]
    # A conflict with a concurrent write of the same keys raises BillingInProgress: the
    # caller retries.
    return _put_unless_held(*(put["Put"] for put in puts))


def _put_unless_held(*puts: dict[str, Any]) -> StoredRequest | None:
    """Puts all or none; the record holding the first key that is held, if one is."""
    try:
        writes.run([Write("Put", put, on_condition_failed=ConditionFailed) for put in puts])
    except ConditionFailed as held:
        return held_by(dict(held.item))
    return None


def complete(key: str, fingerprint: str, status: int, body: str) -> None:
    """Stores the answer that retries with this key will replay."""
    update = {
        "TableName": table_name(),
        "Key": _key(key),
        "UpdateExpression": "SET #status = :done, response_status = :code, response_body = :body",
        "ConditionExpression": "fingerprint = :fp",
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": {
            ":done": {"S": COMPLETED},
            ":code": {"N": str(status)},
            ":body": {"S": body},
            ":fp": {"S": fingerprint},
        },
    }
    # The key is no longer this request's (ConditionFailed): an internal error, not an answer.
    writes.run([Write("Update", update, on_condition_failed=ConditionFailed)])


def release(key: str, fingerprint: str) -> None:
    """Frees the key after an answer that is not final, so the caller's retry runs for real."""
    delete = {
        "TableName": table_name(),
        "Key": _key(key),
        "ConditionExpression": "fingerprint = :fp AND #status = :in_progress",
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": {
            ":fp": {"S": fingerprint},
            ":in_progress": {"S": IN_PROGRESS},
        },
    }
    with contextlib.suppress(ConditionFailed):
        writes.run([Write("Delete", delete, on_condition_failed=ConditionFailed)])
