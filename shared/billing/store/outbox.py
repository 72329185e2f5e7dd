"""The application events' outbox (`OUTBOX` / `<kept at>#<message id>`): an event is kept
here before it is sent to SQS (with the change that causes it, where one write holds both),
and removed once SQS took it. What is left (the send failed, or the function stopped before
it) is sent again by the sweeper (`services.app_webhooks.outbox`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from billing.store import keys, writes
from billing.store.table import client, table_name, translated_errors
from billing.store.writes import Write

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class Entry(NamedTuple):
    """One event as SQS is to get it."""

    message_id: str
    body: str
    kept_at: int  # ms


def kept(entry: Entry) -> Write:
    """The write that keeps the entry (for the caller's transaction, or `keep`)."""
    item = {
        **_key(entry),
        "entity": {"S": "app_outbox"},
        "message_id": {"S": entry.message_id},
        "body": {"S": entry.body},
        "kept_at": {"N": str(entry.kept_at)},
    }
    return Write("Put", {"TableName": table_name(), "Item": item})


def keep(entries: list[Entry]) -> None:
    writes.run([kept(entry) for entry in entries])


def remove(entry: Entry) -> None:
    """SQS took it: nothing more to send."""
    writes.run([Write("Delete", {"TableName": table_name(), "Key": _key(entry)})])


def waiting(kept_before: int, limit: int, dynamodb: DynamoDBClient | None = None) -> list[Entry]:
    """Up to `limit` entries kept before `kept_before` (ms), oldest first (`dynamodb`: another
    client of the same table, the local stack's own)."""
    query: dict[str, Any] = {
        "TableName": table_name(),
        "KeyConditionExpression": "PK = :pk AND SK < :before",
        "ExpressionAttributeValues": {
            ":pk": {"S": keys.OUTBOX_PK},
            ":before": {"S": keys.outbox_sk_before(kept_before)},
        },
        "Limit": limit,
    }
    with translated_errors():
        page = (dynamodb or client()).query(**query)
    return [_entry(item) for item in page.get("Items", [])]


def _key(entry: Entry) -> dict[str, Any]:
    return {
        "PK": {"S": keys.OUTBOX_PK},
        "SK": {"S": keys.outbox_sk(entry.kept_at, entry.message_id)},
    }


def _entry(item: dict[str, Any]) -> Entry:
    return Entry(
        message_id=item["message_id"]["S"],
        body=item["body"]["S"],
        kept_at=int(item["kept_at"]["N"]),
    )
