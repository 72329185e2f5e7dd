"""Closed billing periods: `PERIOD_CLOSE#<Stripe subscription id>#<period end>` / `CLOSE`.

A period is closed once, in one transaction: this record (the charges of its overage)
and its grants reset. Whatever happens after (a crash before the invoice items are added, a
redelivered `invoice.created`), the charges are read back from here, identical, and added
with the same idempotency keys: the usage they were computed from is gone by then.
"""

from __future__ import annotations

import json
from decimal import Decimal

from billing.domain.customers import Customer
from billing.domain.errors import BillingError
from billing.domain.holdings import Grant
from billing.domain.periods import OverageCharge
from billing.store import keys, writes
from billing.store.holdings import replaced_grant
from billing.store.profiles import required
from billing.store.table import Item, client, table_name, translated_errors
from billing.store.writes import Write

# Far past Stripe's retries of the renewal's events.
_TTL_S = 90 * 24 * 3600


class PeriodAlreadyClosed(BillingError):
    """Another delivery closed the period first."""

    code = "period_already_closed"


def load(stripe_subscription_id: str, period_end_s: int) -> tuple[OverageCharge, ...] | None:
    """The charges the closed period billed; None while it is open."""
    with translated_errors():
        found = client().get_item(
            TableName=table_name(),
            Key=_key(stripe_subscription_id, period_end_s),
            ConsistentRead=True,
        )
    item = found.get("Item")
    if item is None:
        return None
    return tuple(
        OverageCharge(
            feature_id=c["feature_id"],
            description=c["description"],
            idempotency_key=c["idempotency_key"],
            price_id=c["price_id"],
            quantity=int(c["quantity"]),
            amount=None if c["amount"] is None else Decimal(c["amount"]),
        )
        for c in json.loads(item["charges"]["S"])
    )


def close(
    profile: Customer,
    stripe_subscription_id: str,
    period_end_s: int,
    charges: tuple[OverageCharge, ...],
    resets: list[tuple[Grant, Grant]],
    now_ms: int,
    also: list[Write] | None = None,
) -> None:
    """Closes the period: the record, the grants' resets (each as read) and `also` (the
    subscriptions' new period) in one transaction. Raises PeriodAlreadyClosed when another
    delivery closed it first."""
    record = recorded(profile, stripe_subscription_id, period_end_s, charges, now_ms)
    grant_writes = [replaced_grant(profile, before, after) for before, after in resets]
    writes.run([required(profile, now_ms), record, *grant_writes, *(also or [])])


def recorded(
    profile: Customer,
    stripe_subscription_id: str,
    period_end_s: int,
    charges: tuple[OverageCharge, ...],
    now_ms: int,
) -> Write:
    """The write of a close's record (its charges), for a transaction: it fails with
    PeriodAlreadyClosed when the record exists already."""
    body = [
        {
            "feature_id": c.feature_id,
            "description": c.description,
            "idempotency_key": c.idempotency_key,
            "price_id": c.price_id,
            "quantity": c.quantity,
            "amount": None if c.amount is None else str(c.amount),
        }
        for c in charges
    ]
    return Write(
        "Put",
        {
            "TableName": table_name(),
            "Item": {
                **_key(stripe_subscription_id, period_end_s),
                "entity": {"S": "period_close"},
                "owner": {"S": profile.internal_id},
                "charges": {"S": json.dumps(body)},
                "ttl": {"N": str(now_ms // 1000 + _TTL_S)},
            },
            "ConditionExpression": "attribute_not_exists(PK)",
        },
        on_condition_failed=PeriodAlreadyClosed,
    )


def _key(stripe_subscription_id: str, period_end_s: int) -> Item:
    return {
        "PK": {"S": keys.period_close_pk(stripe_subscription_id, period_end_s)},
        "SK": {"S": keys.PERIOD_CLOSE_SK},
    }
