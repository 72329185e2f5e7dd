"""Signed-in dashboard sessions, one item each: a cookie is honoured only while its item
exists, so signing out (which deletes it) ends the session wherever the cookie was copied.
And wrong sign-in keys counted per source (one item each, gone by TTL), to lock it out."""

from __future__ import annotations

from billing.store import keys, writes
from billing.store.table import client, table_name, translated_errors
from billing.store.writes import ConditionFailed, Write


def _key(nonce: str) -> dict[str, dict[str, str]]:
    return {"PK": {"S": keys.dashboard_session_pk(nonce)}, "SK": {"S": keys.DASHBOARD_SESSION}}


def open_session(nonce: str, expires_at_ms: int) -> None:
    item = {
        **_key(nonce),
        "expires_at": {"N": str(expires_at_ms)},
        # DynamoDB's TTL removes it some time after it expired (the cookie says when).
        "ttl": {"N": str(expires_at_ms // 1000 + 3600)},
    }
    writes.run([Write("Put", {"TableName": table_name(), "Item": item})])


def is_open(nonce: str) -> bool:
    with translated_errors():
        found = client().get_item(TableName=table_name(), Key=_key(nonce), ConsistentRead=True)
    return "Item" in found


def close_session(nonce: str) -> None:
    writes.run([Write("Delete", {"TableName": table_name(), "Key": _key(nonce)})])


def _source_key(source: str) -> dict[str, dict[str, str]]:
    return {"PK": {"S": keys.dashboard_sign_in_pk(source)}, "SK": {"S": keys.DASHBOARD_SIGN_IN}}


def locked_until(source: str, now_ms: int) -> int | None:
    """When sign-in from this source is allowed again, if it is refused now."""
    with translated_errors():
        item = (
            client()
            .get_item(TableName=table_name(), Key=_source_key(source), ConsistentRead=True)
            .get("Item")
        )
    until = int(item["locked_until"]["N"]) if item and "locked_until" in item else None
    return until if until is not None and until > now_ms else None


def note_wrong_key(source: str, now_ms: int, *, most: int, window_ms: int, lock_ms: int) -> None:
    """Counts a wrong key from this source within its window (a new window once the last
    ran out); the `most`-th in one window locks the source for `lock_ms`."""
    ttl = {"N": str((now_ms + window_ms + lock_ms) // 1000 + 60)}
    counted = {
        "TableName": table_name(),
        "Key": _source_key(source),
        "UpdateExpression": "ADD failures :one SET #ttl = :ttl",
        "ConditionExpression": "window_until > :now",
        "ExpressionAttributeNames": {"#ttl": "ttl"},
        "ExpressionAttributeValues": {":one": {"N": "1"}, ":now": {"N": str(now_ms)}, ":ttl": ttl},
        "ReturnValues": "UPDATED_NEW",
    }
    try:
        answer = writes.run([Write("Update", counted, on_condition_failed=ConditionFailed)])
        failures = int(answer["Attributes"]["failures"]["N"])
    except ConditionFailed:
        window = {
            **_source_key(source),
            "failures": {"N": "1"},
            "window_until": {"N": str(now_ms + window_ms)},
            "ttl": ttl,
        }
        writes.run([Write("Put", {"TableName": table_name(), "Item": window})])
        failures = 1
    if failures >= most:
        lock = {
            "TableName": table_name(),
            "Key": _source_key(source),
            "UpdateExpression": "SET locked_until = :until",
            "ExpressionAttributeValues": {":until": {"N": str(now_ms + lock_ms)}},
        }
        writes.run([Write("Update", lock)])
