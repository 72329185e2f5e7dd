"""Purchases granted, once, and moved on with the subscriptions they granted.

The attempt's status goes from pending to granted in the very transaction that writes what
it grants, fenced on the live profile: two webhooks (or a webhook and the attach that saw
the payment succeed) racing to grant one purchase grant it once. From then on a granted
purchase follows the subscription it granted (ending, back to granted, ended): `followed`
makes those writes, and every writer of a customer's holdings puts them in the transaction
that changes them.
"""

from __future__ import annotations

from collections.abc import Iterable

from billing.domain.customers import Customer
from billing.domain.errors import BillingInProgress
from billing.domain.holdings import Holdings, Subscription
from billing.domain.purchases import PendingPurchase, PurchaseStatus, held_status
from billing.store import keys, writes
from billing.store.holding_items import items_of
from billing.store.holdings import delete_owned, deleted_grant, put_new
from billing.store.profiles import pk_of, required
from billing.store.purchases import PurchaseAlreadyGranted, item_key
from billing.store.staged_changes import change_in_stages
from billing.store.table import client, table_name, translated_errors
from billing.store.writes import Write


def followed(
    kept: Iterable[Subscription] = (),
    ended: Iterable[Subscription] = (),
    *,
    scheduled_away: frozenset[str] = frozenset(),
) -> list[Write]:
    """The writes that move granted purchases on with the subscriptions they granted, for
    the transaction that changes those subscriptions: each of `kept` (held on, perhaps set
    to end: its id in `scheduled_away` when a change away from it is scheduled) to
    `held_status`, each of `ended` (removed from the holdings) to ended. Subscriptions
    granted without a purchase, and scheduled ones (not held yet), have none to move. Each
    move requires the purchase to be granted or ending: what a held subscription's purchase
    always is, so a failed check is a write based on a stale read (read again)."""
    moves: dict[str, PurchaseStatus] = {}
    for sub in kept:
        if sub.purchase_id is not None and sub.status == "active":
            moves[sub.purchase_id] = held_status(sub, scheduled_away=sub.id in scheduled_away)
    for sub in ended:
        if sub.purchase_id is not None and sub.status == "active":
            moves[sub.purchase_id] = "ended"
    return [_followed(purchase_id, status) for purchase_id, status in moves.items()]


def _followed(purchase_id: str, status: PurchaseStatus) -> Write:
    return Write(
        "Update",
        {
            "TableName": table_name(),
            "Key": item_key(purchase_id),
            "UpdateExpression": "SET #status = :to",
            "ConditionExpression": "#status IN (:granted, :ending)",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {
                ":granted": {"S": "granted"},
                ":ending": {"S": "ending"},
                ":to": {"S": status},
            },
        },
        on_condition_failed=BillingInProgress,
    )


def trial_used(internal_id: str, plan_id: str) -> bool:
    """True once the customer was granted the plan's own free trial."""
    with translated_errors():
        found = client().get_item(
            TableName=table_name(),
            Key={
                "PK": {"S": keys.trial_used_pk(internal_id, plan_id)},
                "SK": {"S": keys.TRIAL_USED_SK},
            },
            ConsistentRead=True,
        )
    return "Item" in found


def _trial_marked(purchase: PendingPurchase, now_ms: int) -> Write:
    return Write(
        "Put",
        {
            "TableName": table_name(),
            "Item": {
                "PK": {"S": keys.trial_used_pk(purchase.internal_id, purchase.plan_id)},
                "SK": {"S": keys.TRIAL_USED_SK},
                "purchase_id": {"S": purchase.id},
                "at": {"N": str(now_ms)},
            },
        },
    )


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
    it fits in one. A plan's own trial granted is remembered (it is not given twice).
    Raises PurchaseAlreadyGranted when another call granted it first."""
    pk, owner = pk_of(profile), profile.internal_id
    marked = Write(
        "Update",
        {
            "TableName": table_name(),
            "Key": item_key(purchase.id),
            "UpdateExpression": "SET #status = :granted, granted_at = :now",
            "ConditionExpression": "#status = :pending",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {
                ":pending": {"S": "pending"},
                ":granted": {"S": "granted"},
                ":now": {"N": str(now_ms)},
            },
        },
        on_condition_failed=PurchaseAlreadyGranted,
    )
    if purchase.trial_ends_at is not None:
        also = [*also, _trial_marked(purchase, now_ms)]
    # The purchase of the plan it replaces ends with it.
    also = [*also, *followed(ended=removed.subscriptions)]
    puts = [put_new(item, owner) for item in items_of(pk, owner, added)]
    # The grants replaced go only as read: a use tracked on them meanwhile (an upgrade paid
    # days after its attach) is read again, and billed (services/billing/late_overage).
    kept_apart = removed._replace(grants=())
    deletes = [delete_owned(item, owner) for item in items_of(pk, owner, kept_apart)]
    deletes += [deleted_grant(profile, grant) for grant in removed.grants]
    whole = [required(profile, now_ms), marked, *puts, *deletes, *also]
    if len(whole) <= writes.TRANSACTION_ITEMS:
        writes.run(whole)
    else:
        # A plan of many items (or an upgrade between two): written in stages, shown at once.
        change_in_stages(profile, purchase.id, added, removed, [marked, *also], now_ms)
