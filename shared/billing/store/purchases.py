"""Pending purchases (what a customer gets once Stripe says paid), granted exactly once.

The purchase item's status goes from pending to granted in the very transaction that writes
what it grants, fenced on the live profile: two webhooks (or a webhook and the attach that
saw the payment succeed) racing to grant one purchase grant it once.
"""

from __future__ import annotations

from billing.domain.customers import Customer
from billing.domain.errors import BillingError
from billing.domain.holdings import Holdings
from billing.domain.purchases import PendingPurchase
from billing.store import keys, writes
from billing.store.holdings import change_in_stages, delete_owned, items_of, put_new
from billing.store.profiles import pk_of, required
from billing.store.table import Item, client, table_name, translated_errors
from billing.store.writes import Write

_SK = "PURCHASE"
_SWITCH_SK = "SWITCH"


class PurchaseAlreadyGranted(BillingError):
    """The purchase was granted by an earlier call: nothing is left to do."""

    code = "purchase_already_granted"


def save_pending(purchase: PendingPurchase, ttl_s: int) -> PendingPurchase:
    """Keeps the purchase (again, on a retry) unless it was granted meanwhile; returns what
    is stored now."""
    try:
        writes.run(
            [
                Write(
                    "Put",
                    {
                        "TableName": table_name(),
                        "Item": _item(purchase, ttl=purchase.created_at // 1000 + ttl_s),
                        "ConditionExpression": "attribute_not_exists(PK) OR #status = :pending",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": {":pending": {"S": "pending"}},
                    },
                    on_condition_failed=PurchaseAlreadyGranted,
                )
            ]
        )
    except PurchaseAlreadyGranted:
        return purchase.model_copy(update={"status": "granted"})
    return purchase


def drop_pending(purchase_id: str) -> bool:
    """Forgets a purchase nobody paid for, unless it was granted (False then)."""
    try:
        writes.run([_forgotten_while_pending(purchase_id)])
    except PurchaseAlreadyGranted:
        return False
    return True


def _forgotten_while_pending(purchase_id: str) -> Write:
    return Write(
        "Delete",
        {
            "TableName": table_name(),
            "Key": _key(purchase_id),
            "ConditionExpression": "#status = :pending",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {":pending": {"S": "pending"}},
        },
        on_condition_failed=PurchaseAlreadyGranted,
    )


def load(purchase_id: str) -> PendingPurchase | None:
    with translated_errors():
        found = client().get_item(
            TableName=table_name(), Key=_key(purchase_id), ConsistentRead=True
        )
    item = found.get("Item")
    if item is None:
        return None
    stored = PendingPurchase.model_validate_json(item["body"]["S"])
    return stored.model_copy(update={"status": item["status"]["S"]})


def grant(
    profile: Customer,
    purchase: PendingPurchase,
    added: Holdings,
    removed: Holdings,
    also: list[Write],
    now_ms: int,
) -> None:
    """At once: the purchase marked granted (if still pending), what it grants written, what
    it replaces removed, and `also` (the plan version marked in use); one transaction when
    it fits in one. Raises PurchaseAlreadyGranted when another call granted it first."""
    pk, owner = pk_of(profile), profile.internal_id
    marked = Write(
        "Update",
        {
            "TableName": table_name(),
            "Key": _key(purchase.id),
            "UpdateExpression": "SET #status = :granted, granted_at = :now REMOVE #ttl",
            "ConditionExpression": "#status = :pending",
            "ExpressionAttributeNames": {"#status": "status", "#ttl": "ttl"},
            "ExpressionAttributeValues": {
                ":pending": {"S": "pending"},
                ":granted": {"S": "granted"},
                ":now": {"N": str(now_ms)},
            },
        },
        on_condition_failed=PurchaseAlreadyGranted,
    )
    puts = [put_new(item, owner) for item in items_of(pk, owner, added)]
    deletes = [delete_owned(item, owner) for item in items_of(pk, owner, removed)]
    whole = [required(profile, now_ms), marked, *puts, *deletes, *also]
    if len(whole) <= writes.TRANSACTION_ITEMS:
        writes.run(whole)
    else:
        # A plan of many items (or an upgrade between two): written in stages, shown at once.
        change_in_stages(profile, purchase.id, added, removed, [marked, *also], now_ms)


def _item(purchase: PendingPurchase, ttl: int) -> Item:
    return {
        **_key(purchase.id),
        "entity": {"S": "purchase"},
        "status": {"S": purchase.status},
        "body": {"S": purchase.model_dump_json()},
        # An abandoned checkout's purchase goes away by itself.
        "ttl": {"N": str(ttl)},
    }


def _key(purchase_id: str) -> Item:
    return {"PK": {"S": keys.purchase_pk(purchase_id)}, "SK": {"S": _SK}}


def save_scheduled(
    profile: Customer,
    shown: Holdings,
    purchase_id: str,
    stripe_subscription_id: str,
    at_ms: int,
    now_ms: int,
) -> None:
    """A change at the period end: the plan shown as scheduled until then, and which purchase
    the Stripe subscription's first invoice after `at_ms` pays for. Written again as it is
    on a retry (the shown subscription's id derives from the purchase); nothing is written
    once the purchase was granted (the switch happened)."""
    pk, owner = pk_of(profile), profile.internal_id
    puts = [
        Write("Put", {"TableName": table_name(), "Item": item})
        for item in items_of(pk, owner, shown)
    ]
    # Long after the switch: a renewal paid late still finds it.
    ttl = {"N": str(at_ms // 1000 + 90 * 24 * 3600)}
    switch = Write(
        "Put",
        {
            "TableName": table_name(),
            "Item": {
                "PK": {"S": keys.scheduled_switch_pk(stripe_subscription_id)},
                "SK": {"S": _SWITCH_SK},
                "purchase_id": {"S": purchase_id},
                "at_ms": {"N": str(at_ms)},
                "ttl": ttl,
            },
        },
    )
    # The purchase lives as long as its switch: an unpaid purchase's own TTL (a week) may
    # come well before the period end.
    kept = Write(
        "Update",
        {
            "TableName": table_name(),
            "Key": _key(purchase_id),
            "UpdateExpression": "SET #ttl = :ttl",
            "ConditionExpression": "#status = :pending",
            "ExpressionAttributeNames": {"#status": "status", "#ttl": "ttl"},
            "ExpressionAttributeValues": {":pending": {"S": "pending"}, ":ttl": ttl},
        },
        on_condition_failed=PurchaseAlreadyGranted,
    )
    try:
        writes.run([required(profile, now_ms), *puts, switch, kept])
    except PurchaseAlreadyGranted:
        return


def scheduled_switch(stripe_subscription_id: str) -> tuple[str, int] | None:
    """The purchase a subscription switches to at its period end, and when (ms)."""
    key = {
        "PK": {"S": keys.scheduled_switch_pk(stripe_subscription_id)},
        "SK": {"S": _SWITCH_SK},
    }
    with translated_errors():
        found = client().get_item(TableName=table_name(), Key=key, ConsistentRead=True)
    item = found.get("Item")
    if item is None:
        return None
    return item["purchase_id"]["S"], int(item["at_ms"]["N"])


def drop_scheduled(
    profile: Customer,
    shown: Holdings,
    purchase_id: str,
    stripe_subscription_id: str,
    now_ms: int,
) -> bool:
    """Takes back a change at the period end that `save_scheduled` kept: the purchase is
    forgotten, the subscription no longer switches to it, and the plan shown as scheduled
    goes; at once, and only while the purchase is still pending (False, nothing written,
    when it was granted or dropped meanwhile)."""
    pk, owner = pk_of(profile), profile.internal_id
    forgotten = _forgotten_while_pending(purchase_id)
    switch = Write(
        "Delete",
        {
            "TableName": table_name(),
            "Key": {
                "PK": {"S": keys.scheduled_switch_pk(stripe_subscription_id)},
                "SK": {"S": _SWITCH_SK},
            },
        },
    )
    deletes = [delete_owned(item, owner) for item in items_of(pk, owner, shown)]
    try:
        writes.run([required(profile, now_ms), forgotten, switch, *deletes])
    except PurchaseAlreadyGranted:
        return False
    return True
