"""Purchases, one item per attempt (domain/purchases has the lifecycle): opened, read, noted
and closed here; granted, and moved on with the subscription they granted, in
`store.purchase_grants`; a change at the period end waits in `store.scheduled_switches`.

Every attempt at one purchase shares a partition (`PURCHASE#<key>`), one item per attempt
(`ATTEMPT#<n>`), so the latest attempt is one Query. Attempts are kept (no TTL): the numbers
never go back, so a new attempt never meets Stripe idempotency keys or Stripe objects of an
older one. Every move out of pending but the grant (abandoned, superseded, refunded) is
conditional on it still being pending, so a purchase is never both granted and closed.
"""

from __future__ import annotations

from typing import Any

from billing.domain.errors import BillingError, BillingInProgress
from billing.domain.purchases import (
    PendingPurchase,
    PurchaseStatus,
    attempt_of_id,
    is_purchase_id,
    key_of_id,
)
from billing.store import keys, writes
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
            TableName=table_name(), Key=item_key(purchase_id), ConsistentRead=True
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
            "Key": item_key(purchase_id),
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
                        "Key": item_key(purchase_id),
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
            "Key": item_key(purchase_id),
            "UpdateExpression": "SET #status = :to",
            "ConditionExpression": f"#status IN ({', '.join(names)})",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {**names, ":to": {"S": status}},
        },
        on_condition_failed=PurchaseAlreadyGranted,
    )


def forgotten_while_pending(purchase_id: str) -> Write:
    """The write that abandons the attempt, for a transaction that needs it still pending."""
    return _moved(purchase_id, "abandoned")


# Kept beside the body: conditions and `record` change them without rewriting it.
_NOTES = ("checkout_session_id", "invoice_id")


def _item(purchase: PendingPurchase) -> Item:
    return {
        **item_key(purchase.id),
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


def item_key(purchase_id: str) -> Item:
    """The key of the attempt's item."""
    return {
        "PK": {"S": keys.purchase_pk(key_of_id(purchase_id))},
        "SK": {"S": keys.purchase_attempt_sk(attempt_of_id(purchase_id))},
    }
