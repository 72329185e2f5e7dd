"""Stripe's invoice previews: what a change to a subscription would invoice now (another
plan, new quantities, a cancellation), read without writing anything."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from billing.config import settings
from billing.stripe_api import catalog
from billing.stripe_api.objects import id_of
from billing.stripe_api.subscriptions import quantity_items, replaced_items

if TYPE_CHECKING:
    from billing.stripe_api.call import StripeCall
    from billing.stripe_api.subscriptions import PlanChange, QuantityChange, Subscriptions


@dataclass(frozen=True)
class InvoiceLine:
    """One line of an invoice Stripe would make (a preview): its price, in our units."""

    price_id: str | None
    # Packages of the price's billing units (1 for a base price).
    quantity: int
    amount: Decimal
    description: str
    # Unix seconds.
    period: tuple[int, int]


@dataclass(frozen=True)
class ChangePreview:
    """What moving a paid subscription to another plan at once would invoice now (read from
    Stripe, nothing written), and when the subscription's current period ends."""

    period_end_s: int
    currency: str
    lines: tuple[InvoiceLine, ...]
    # When Stripe made the preview (the customer's test clock time, if it has one).
    made_at_s: int | None = None


class Previews:
    def __init__(self, call: StripeCall, subscriptions: Subscriptions) -> None:
        self._call = call
        self._subscriptions = subscriptions

    def change(self, change: PlanChange) -> ChangePreview:
        """What `subscriptions.change_plan(change)` would invoice now, and when the
        subscription's period ends."""
        subscription = self._subscriptions.changed(change)
        period_end = int(subscription["items"]["data"][0]["current_period_end"])
        currency = str(subscription.get("currency") or settings().currency)
        if change.proration == "none":
            return ChangePreview(period_end, currency, ())
        params: Any = {
            "subscription": subscription["id"],
            "subscription_details": {
                "items": replaced_items(subscription, change),
                "proration_behavior": change.proration,
            },
        }
        preview = self._call(lambda: self._call.v1.invoices.create_preview(params)).to_dict()
        lines = tuple(_invoice_line(line) for line in preview["lines"]["data"])
        return ChangePreview(period_end, str(preview.get("currency") or currency), lines)

    def cancel(self, subscription_id: str, credit_unused: bool) -> ChangePreview:
        """What `subscriptions.cancel_now(subscription_id, credit_unused)` would invoice."""
        details: Any = {
            "cancel_now": True,
            "proration_behavior": "create_prorations" if credit_unused else "none",
        }
        return self._preview(subscription_id, details)

    def quantities(self, change: QuantityChange) -> ChangePreview:
        """What `subscriptions.change_quantities(change)` would invoice now."""
        found = self._call(
            lambda: self._call.v1.subscriptions.retrieve(change.subscription_id)
        ).to_dict()
        if change.proration == "none":
            return self._preview(change.subscription_id, None, found)
        details: Any = {
            "items": quantity_items(found, change),
            "proration_behavior": change.proration,
        }
        return self._preview(change.subscription_id, details, found)

    def _preview(
        self, subscription_id: str, details: Any, found: dict[str, Any] | None = None
    ) -> ChangePreview:
        """Stripe's invoice preview of a change to the subscription (None: nothing due)."""
        subscription = found or (
            self._call(lambda: self._call.v1.subscriptions.retrieve(subscription_id)).to_dict()
        )
        period_end = int(subscription["items"]["data"][0]["current_period_end"])
        currency = str(subscription.get("currency") or settings().currency)
        if details is None:
            return ChangePreview(period_end, currency, ())
        params: Any = {"subscription": subscription_id, "subscription_details": details}
        preview = self._call(lambda: self._call.v1.invoices.create_preview(params)).to_dict()
        lines = tuple(_invoice_line(line) for line in preview["lines"]["data"])
        made_at = preview.get("created")
        return ChangePreview(
            period_end,
            str(preview.get("currency") or currency),
            lines,
            int(made_at) if made_at is not None else None,
        )


def _invoice_line(line: Any) -> InvoiceLine:
    pricing = line.get("pricing") or {}
    price = (pricing.get("price_details") or {}).get("price")
    period = line.get("period") or {}
    return InvoiceLine(
        price_id=id_of(price),
        quantity=int(line.get("quantity") or 1),
        amount=catalog.major_units(int(line["amount"])),
        description=str(line.get("description") or ""),
        period=(int(period.get("start") or 0), int(period.get("end") or 0)),
    )
