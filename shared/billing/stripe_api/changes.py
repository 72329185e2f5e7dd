"""The changes asked of a paid Stripe subscription (another plan, new quantities) and the
request bodies that ask Stripe for them, shared by the change itself and its preview."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from billing.domain.attach import ProrationBehavior
from billing.domain.periods import OverageCharge
from billing.stripe_api import catalog
from billing.stripe_api.payments import LineItem, items_of

Proration = Literal["create_prorations", "always_invoice", "none"]

# Autumn's names for how a change is prorated -> Stripe's. Billing the difference at once is
# what Stripe's always_invoice does for an upgrade.
PRORATIONS: dict[ProrationBehavior, Proration] = {
    "prorate_immediately": "always_invoice",
    "bill_difference": "always_invoice",
    "none": "none",
}


@dataclass(frozen=True)
class PlanChange:
    """Moving a paid subscription to another plan at once (an upgrade): the items of the
    plan left are replaced by `line_items`, prorated as asked, and the change applies only
    once its invoice is paid (Stripe's pending updates). The subscription's own card pays,
    as it pays its renewals."""

    purchase_id: str
    stripe_customer: str
    leaving_price_ids: frozenset[str]
    line_items: tuple[LineItem, ...]
    proration: Proration
    # The Stripe subscription billing the plan left (its recorded id); None: the customer's
    # live subscription selling one of `leaving_price_ids` (a plan granted before the ids
    # were recorded, or a preview).
    subscription_id: str | None = None
    # One-time charges billed with the change (the plan left's overage so far): on the
    # change's own invoice, so whoever pays it (now, after authentication, on the hosted
    # page, Stripe's retries) pays them too, once; a change that invoices nothing now leaves
    # them for the subscription's next invoice. `charges_product`: the Stripe product a
    # charge without a price of its own (an amount we priced) is billed under.
    charges: tuple[OverageCharge, ...] = ()
    charges_product: str | None = None
    # A trial running on the subscription ends with the change (the first paid period
    # charged now), or starts afresh to end at `restarts_trial_at` (Unix seconds).
    ends_trial: bool = False
    restarts_trial_at: int | None = None


def trial_end_param(change: PlanChange, subscription: dict[str, Any]) -> int | str | None:
    """The change's `trial_end`: none unless a trial runs on the subscription."""
    if subscription.get("status") != "trialing":
        return None
    return "now" if change.ends_trial else change.restarts_trial_at


@dataclass(frozen=True)
class QuantityChange:
    """New quantities for some items of a subscription (prepaid packages), prorated as
    asked and applied only once their invoice is paid (Stripe's pending updates)."""

    subscription_id: str
    # price id -> packages wanted
    quantities: dict[str, int]
    proration: Proration
    # Our own id for this change: the Stripe calls made for it are keyed by it.
    change_id: str


def replaced_items(subscription: dict[str, Any], change: PlanChange) -> list[dict[str, Any]]:
    """The subscription's items as the change makes them: all of the old plan's gone, the
    new plan's added."""
    items: list[dict[str, Any]] = [
        {"id": item["id"], "deleted": True} for item in subscription["items"]["data"]
    ]
    return items + items_of(change.line_items)


def added_invoice_items(change: PlanChange, currency: str) -> list[dict[str, Any]]:
    """The change's one-time charges as Stripe's `add_invoice_items`: packages of the item's
    one-time price, or an amount (whole cents, in the subscription's `currency`) under the
    plan's product; each names its charge in its metadata, as the renewal's invoice items
    do. Stripe takes at most 20: past 19, the rest are one amount, the sum of what each
    would have charged."""
    kept, rest = change.charges, tuple[OverageCharge, ...]()
    if len(change.charges) > _MAX_ADDED_ITEMS:
        kept, rest = change.charges[: _MAX_ADDED_ITEMS - 1], change.charges[_MAX_ADDED_ITEMS - 1 :]
    added = [_added_item(change, charge, currency) for charge in kept]
    if rest:
        cents = sum(catalog.whole_minor_units(c.amount or Decimal(0)) for c in rest)
        keys = ",".join(c.idempotency_key for c in rest)
        added.append(_priced(change, cents, currency, {"billing_charge": keys[:500]}))
    return added


# Stripe's limit on `add_invoice_items` in one update.
_MAX_ADDED_ITEMS = 20


def _added_item(change: PlanChange, charge: OverageCharge, currency: str) -> dict[str, Any]:
    metadata = {
        "billing_feature_id": charge.feature_id[:500],
        "billing_charge": charge.idempotency_key[:500],
    }
    if charge.price_id is not None:
        return {"price": charge.price_id, "quantity": charge.quantity, "metadata": metadata}
    cents = catalog.whole_minor_units(charge.amount or Decimal(0))
    return _priced(change, cents, currency, metadata)


def _priced(
    change: PlanChange, cents: int, currency: str, metadata: dict[str, str]
) -> dict[str, Any]:
    """An amount (Stripe's minor units) billed under the plan's product."""
    if change.charges_product is None:
        raise ValueError("a charge without a price needs the product to bill it under")
    price_data = {
        "currency": currency,
        "product": change.charges_product,
        "unit_amount": cents,
    }
    return {"price_data": price_data, "quantity": 1, "metadata": metadata}


def quantity_items(subscription: dict[str, Any], change: QuantityChange) -> list[dict[str, Any]]:
    """The subscription's items whose quantity the change sets, with their new quantity."""
    return [
        {"id": item["id"], "quantity": change.quantities[item["price"]["id"]]}
        for item in subscription["items"]["data"]
        if item["price"]["id"] in change.quantities
    ]
