"""Changes at the period end: the plan shown as scheduled until then, and which purchase the
Stripe subscription's first invoice after it pays for (`SCHEDULED_SWITCH` items); kept,
read, and taken back.
"""

from __future__ import annotations

from billing.domain.customers import Customer
from billing.domain.holdings import Holdings, Subscription
from billing.store import keys, writes
from billing.store.holding_items import items_of
from billing.store.holdings import delete_owned, rewrite_owned
from billing.store.profiles import pk_of, required
from billing.store.purchase_grants import followed
from billing.store.purchases import PurchaseAlreadyGranted, forgotten_while_pending, item_key
from billing.store.table import client, table_name, translated_errors
from billing.store.writes import Write


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
                "SK": {"S": keys.SCHEDULED_SWITCH_SK},
                "purchase_id": {"S": purchase_id},
                "at_ms": {"N": str(at_ms)},
                "ttl": ttl,
            },
        },
    )
    # Only while the purchase is still pending (not granted, not closed).
    kept = Write(
        "ConditionCheck",
        {
            "TableName": table_name(),
            "Key": item_key(purchase_id),
            "ConditionExpression": "#status = :pending",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {":pending": {"S": "pending"}},
        },
        on_condition_failed=PurchaseAlreadyGranted,
    )
    # The plan left at the period end is scheduled to end (its purchase ending).
    leaving = _billed_by(profile, stripe_subscription_id)
    ending = followed(leaving, scheduled_away=frozenset(s.id for s in leaving))
    try:
        writes.run([required(profile, now_ms), *puts, switch, kept, *ending])
    except PurchaseAlreadyGranted:
        return


def _billed_by(profile: Customer, stripe_subscription_id: str) -> tuple[Subscription, ...]:
    """The plans held that the Stripe subscription bills (by the id they recorded)."""
    return tuple(
        s
        for s in profile.holdings.subscriptions
        if s.stripe_subscription_id == stripe_subscription_id and s.status == "active"
    )


def scheduled_switch(stripe_subscription_id: str) -> tuple[str, int] | None:
    """The purchase a subscription switches to at its period end, and when (ms)."""
    key = {
        "PK": {"S": keys.scheduled_switch_pk(stripe_subscription_id)},
        "SK": {"S": keys.SCHEDULED_SWITCH_SK},
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
    renewed: Subscription | None = None,
) -> bool:
    """Takes back a change at the period end that `save_scheduled` kept: the purchase is
    forgotten, the subscription no longer switches to it, and the plan shown as scheduled
    goes; at once, and only while the purchase is still pending (False, nothing written,
    when it was granted or dropped meanwhile). `renewed`: the plan held as it is once the
    change is taken back (no longer shown ending), rewritten in the same transaction."""
    pk, owner = pk_of(profile), profile.internal_id
    forgotten = forgotten_while_pending(purchase_id)
    switch = Write(
        "Delete",
        {
            "TableName": table_name(),
            "Key": {
                "PK": {"S": keys.scheduled_switch_pk(stripe_subscription_id)},
                "SK": {"S": keys.SCHEDULED_SWITCH_SK},
            },
        },
    )
    deletes = [delete_owned(item, owner) for item in items_of(pk, owner, shown)]
    kept = Holdings(subscriptions=(renewed,) if renewed is not None else ())
    rewrites = [rewrite_owned(item, owner) for item in items_of(pk, owner, kept)]
    # The plan it was to replace goes on (its purchase granted again, unless it is set to
    # cancel at the period end), as it is once rewritten.
    going_on = tuple(
        renewed if renewed is not None and s.id == renewed.id else s
        for s in _billed_by(profile, stripe_subscription_id)
    )
    try:
        writes.run(
            [required(profile, now_ms), forgotten, switch, *deletes, *rewrites, *followed(going_on)]
        )
    except PurchaseAlreadyGranted:
        return False
    return True
