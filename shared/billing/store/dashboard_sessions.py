"""Signed-in dashboard sessions, one item each: a cookie is honoured only while its item
exists, so signing out (which deletes it) ends the session wherever the cookie was copied."""

from __future__ import annotations

from billing.store import keys
from billing.store.table import client, table_name, translated_errors


def _key(nonce: str) -> dict[str, dict[str, str]]:
    return {"PK": {"S": keys.dashboard_session_pk(nonce)}, "SK": {"S": keys.DASHBOARD_SESSION}}


def open_session(nonce: str, expires_at_ms: int) -> None:
    with translated_errors():
        client().put_item(
            TableName=table_name(),
            Item={
                **_key(nonce),
                "expires_at": {"N": str(expires_at_ms)},
                # DynamoDB's TTL removes it some time after it expired (the cookie says when).
                "ttl": {"N": str(expires_at_ms // 1000 + 3600)},
            },
        )


def is_open(nonce: str) -> bool:
    with translated_errors():
        found = client().get_item(TableName=table_name(), Key=_key(nonce), ConsistentRead=True)
    return "Item" in found


def close_session(nonce: str) -> None:
    with translated_errors():
        client().delete_item(TableName=table_name(), Key=_key(nonce))
