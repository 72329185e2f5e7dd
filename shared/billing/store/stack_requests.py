"""Add-ons stacked at a caller's request (billing.attach of an add-on held, sent with an
Idempotency-Key): the quantity that request asked Stripe for, so that its retry (after an
answer lost past Stripe: a timeout, a 502) asks for that same quantity, and finds it billed,
instead of one more. Kept as long as Idempotency-Key answers, then expired by the TTL."""

from __future__ import annotations

from typing import NamedTuple

from billing.store import keys, writes
from billing.store.table import Item, client, table_name, translated_errors


class StackRequest(NamedTuple):
    # The quantity of the add-on the request asked its Stripe subscription to bill.
    quantity: int
    # Our id of that change: its Stripe call is keyed by it.
    change_id: str


def claim(
    internal_id: str, request_key: str, asked: StackRequest, now_ms: int, ttl_s: int
) -> StackRequest:
    """What the request asks for, kept unless it was kept already (a retry): then what the
    first try asked for. One billing call per customer runs at a time (the billing lock), so
    the read and the write are not raced."""
    key = _key(internal_id, request_key)
    with translated_errors():
        found = client().get_item(TableName=table_name(), Key=key, ConsistentRead=True)
    item = found.get("Item")
    if item is not None:
        return StackRequest(int(item["quantity"]["N"]), str(item["change_id"]["S"]))
    kept: Item = {
        **key,
        "quantity": {"N": str(asked.quantity)},
        "change_id": {"S": asked.change_id},
        "ttl": {"N": str(now_ms // 1000 + ttl_s)},
    }
    writes.run([writes.Write("Put", {"TableName": table_name(), "Item": kept})])
    return asked


def _key(internal_id: str, request_key: str) -> Item:
    return {
        "PK": {"S": keys.stack_request_pk(internal_id, request_key)},
        "SK": {"S": keys.STACK_REQUEST_SK},
    }
