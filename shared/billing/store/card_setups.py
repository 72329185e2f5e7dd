"""Card setups waiting for their card (billing.setup_payment with a plan): what to attach
once Stripe says the card is saved. Kept a while, then expired by DynamoDB's TTL."""

from __future__ import annotations

from billing.store import keys, writes
from billing.store.table import Item, client, table_name, translated_errors


def save(setup_id: str, attach_request: str, now_ms: int, ttl_s: int) -> None:
    """Keeps the attach request (JSON) under the setup id. A setup id derives from the
    request, so writing it again writes the same thing."""
    item: Item = {
        **_key(setup_id),
        "body": {"S": attach_request},
        "created_at": {"N": str(now_ms)},
        "ttl": {"N": str(now_ms // 1000 + ttl_s)},
    }
    writes.run([writes.Write("Put", {"TableName": table_name(), "Item": item})])


def load(setup_id: str) -> str | None:
    """The attach request (JSON) kept for the setup, or None (none was asked, or expired)."""
    with translated_errors():
        found = client().get_item(TableName=table_name(), Key=_key(setup_id), ConsistentRead=True)
    item = found.get("Item")
    return None if item is None else str(item["body"]["S"])


def _key(setup_id: str) -> Item:
    return {"PK": {"S": keys.card_setup_pk(setup_id)}, "SK": {"S": keys.CARD_SETUP_SK}}
