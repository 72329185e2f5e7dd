"""Purchases, one item per attempt (domain/purchases has the lifecycle), granted once.

Every attempt at one purchase shares a partition (`PURCHASE#<key>`), one item per attempt
(`ATTEMPT#<n>`), so the latest attempt is one Query. Attempts are kept (no TTL): the numbers
never go back, so a new attempt never meets Stripe idempotency keys or Stripe objects of an
older one.

The attempt's status goes from pending to granted in the very transaction that writes what
it grants, fenced on the live profile: two webhooks (or a webhook and the attach that saw
the payment succeed) racing to grant one purchase grant it once. Every other move out of
pending (abandoned, superseded, refunded) is conditional on it still being pending, so a
purchase is never both granted and closed. From then on a granted purchase follows the
subscription it granted (ending, back to granted, ended): `followed` makes those writes, and
every writer of a customer's holdings puts them in the transaction that changes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from billing.domain.customers import Customer
from billing.domain.errors import BillingError, BillingInProgress
from billing.domain.holdings import Holdings, Subscription
from billing.domain.purchases import (
    PendingPurchase,
    PurchaseStatus,
    attempt_of_id,
    held_status,
    is_purchase_id,
    key_of_id,
)
from billing.store import keys, writes
from billing.store.holdings import (
    change_in_stages,
    delete_owned,
    items_of,
    put_new,
    rewrite_owned,
)
from billing.store.profiles import pk_of, required
from billing.store.table import Item, client, table_name, translated_errors
from billing.store.writes import Write


class PurchaseAlreadyGranted(BillingError):
    """The purchase is no longer pending (granted, or closed) by an earlier call."""

    code = "purchase_already_granted"


class PurchaseAttemptTaken(BillingInProgress):
    """Another call opened this attempt first: read the latest again."""


def latest(key: str) -> PendingPurchase | None:
    """The latest attempt at the purchase `key`, if any."""
    with translated_errors():
        found = client().query(
            TableName=table_name(),
            KeyConditionExpression="PK = :pk AND begins_with(SK, :attempt)",
            ExpressionAttributeValues={
                ":pk": {"S": keys.purchase_pk(key)},
                ":attempt": {"S": keys.PURCHASE_ATTEMPT},
            },
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )
    items = found.get("Items", [])
    return _from_item(items[0]) if items else None


def load(purchase_id: str) -> PendingPurchase | None:
    if not is_purchase_id(purchase_id):
        return None  # not one of ours (or of an older scheme): nothing to grant
    with translated_errors():
        found = client().get_item(
            TableName=table_name(), Key=_key(purchase_id), ConsistentRead=True
        )
    item = found.get("Item")
    return None if item is None else _from_item(item)


def open_attempt(
    purchase: PendingPurchase, superseding: PendingPurchase | None, also: list[Write]
) -> PendingPurchase:
    """Keeps a new attempt as pending, with `also` (the plan version marked as shown to a
    customer), then marks the attempt it supersedes so. Raises PurchaseAttemptTaken when
    the attempt exists (a concurrent call), PurchaseAlreadyGranted when the superseded one
    was granted."""
    put = Write(
        "Put",
        {
            "TableName": table_name(),
            "Item": _item(purchase),
            "ConditionExpression": "attribute_not_exists(PK)",
        },
        on_condition_failed=PurchaseAttemptTaken,
    )
    # Closed in Stripe already; its expiry webhook may have marked it abandoned meanwhile,
    # which is as good: only a grant (it was paid first) stops the new attempt.
    closed = [] if superseding is None else [_not_granted(superseding.id)]
    writes.run([put, *closed, *also])
    if superseding is not None:
        close(superseding.id, "superseded")
    return purchase


def _not_granted(purchase_id: str) -> Write:
    return Write(
        "ConditionCheck",
        {
            "TableName": table_name(),
            "Key": _key(purchase_id),
            "ConditionExpression": "NOT #status IN (:granted, :ending, :ended)",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {
                ":granted": {"S": "granted"},
                ":ending": {"S": "ending"},
                ":ended": {"S": "ended"},
            },
        },
        on_condition_failed=PurchaseAlreadyGranted,
    )


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
            "Key": _key(purchase_id),
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


def record(
    purchase_id: str,
    *,
    checkout_session_id: str | None = None,
    invoice_id: str | None = None,
    declined: bool | None = None,
) -> None:
    """Notes the Stripe objects made for a pending attempt (to close them if it is
    superseded), and whether its payment was declined. Nothing once it left pending."""
    sets: dict[str, Any] = {}
    if checkout_session_id is not None:
        sets["checkout_session_id"] = {"S": checkout_session_id}
    if invoice_id is not None:
        sets["invoice_id"] = {"S": invoice_id}
    if declined is not None:
        sets["declined"] = {"BOOL": declined}
    if not sets:
        return
    names = {f"#{name}": name for name in sets}
    values: dict[str, Any] = {f":{name}": value for name, value in sets.items()}
    try:
        writes.run(
            [
                Write(
                    "Update",
                    {
                        "TableName": table_name(),
                        "Key": _key(purchase_id),
                        "UpdateExpression": "SET "
                        + ", ".join(f"#{name} = :{name}" for name in sets),
                        "ConditionExpression": "#status = :pending",
                        "ExpressionAttributeNames": {**names, "#status": "status"},
                        "ExpressionAttributeValues": {**values, ":pending": {"S": "pending"}},
                    },
                    on_condition_failed=PurchaseAlreadyGranted,
                )
            ]
        )
    except PurchaseAlreadyGranted:
        return


def close(
    purchase_id: str, status: PurchaseStatus, *, closing: tuple[PurchaseStatus, ...] = ("pending",)
) -> bool:
    """Moves an attempt that is in one of `closing` (pending by default) to `status`
    (abandoned, refunded); False when it was not (granted, or closed already)."""
    try:
        writes.run([_moved(purchase_id, status, closing)])
    except PurchaseAlreadyGranted:
        return False
    return True


def drop_pending(purchase_id: str) -> bool:
    """A purchase nobody paid for (its page expired) is abandoned, unless it was granted."""
    return close(purchase_id, "abandoned")


def _moved(
    purchase_id: str, status: PurchaseStatus, closing: tuple[PurchaseStatus, ...] = ("pending",)
) -> Write:
    names = {f":from{n}": {"S": s} for n, s in enumerate(closing)}
    return Write(
        "Update",
        {
            "TableName": table_name(),
            "Key": _key(purchase_id),
            "UpdateExpression": "SET #status = :to",
            "ConditionExpression": f"#status IN ({', '.join(names)})",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {**names, ":to": {"S": status}},
        },
        on_condition_failed=PurchaseAlreadyGranted,
    )


def _forgotten_while_pending(purchase_id: str) -> Write:
    return _moved(purchase_id, "abandoned")


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
            "Key": _key(purchase.id),
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
    deletes = [delete_owned(item, owner) for item in items_of(pk, owner, removed)]
    whole = [required(profile, now_ms), marked, *puts, *deletes, *also]
    if len(whole) <= writes.TRANSACTION_ITEMS:
        writes.run(whole)
    else:
        # A plan of many items (or an upgrade between two): written in stages, shown at once.
        change_in_stages(profile, purchase.id, added, removed, [marked, *also], now_ms)


# Kept beside the body: conditions and `record` change them without rewriting it.
_NOTES = ("checkout_session_id", "invoice_id")


def _item(purchase: PendingPurchase) -> Item:
    return {
        **_key(purchase.id),
        "entity": {"S": "purchase"},
        "status": {"S": purchase.status},
        "body": {"S": purchase.model_dump_json()},
    }


def _from_item(item: dict[str, Any]) -> PendingPurchase:
    stored = PendingPurchase.model_validate_json(item["body"]["S"])
    notes: dict[str, Any] = {name: item[name]["S"] for name in _NOTES if name in item}
    if "declined" in item:
        notes["declined"] = bool(item["declined"]["BOOL"])
    return stored.model_copy(update={"status": item["status"]["S"], **notes})


def _key(purchase_id: str) -> Item:
    return {
        "PK": {"S": keys.purchase_pk(key_of_id(purchase_id))},
        "SK": {"S": keys.purchase_attempt_sk(attempt_of_id(purchase_id))},
    }


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
            "Key": _key(purchase_id),
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
    forgotten = _forgotten_while_pending(purchase_id)
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
