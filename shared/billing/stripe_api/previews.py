"""Stripe's invoice previews: what a change to a subscription would invoice now (another
plan, new quantities, a cancellation), read without writing anything, each line told as
ours (which plan, and which of its items, its price belongs to)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from billing.config import settings
from billing.domain.attach_preview import PreviewLine
from billing.domain.features import Feature
from billing.domain.plans import Plan
from billing.stripe_api import catalog
from billing.stripe_api.changes import quantity_items, replaced_items, trial_end_param
from billing.stripe_api.objects import id_of

if TYPE_CHECKING:
    from billing.stripe_api.call import StripeCall
    from billing.stripe_api.changes import PlanChange, QuantityChange
    from billing.stripe_api.subscriptions import Subscriptions


@dataclass(frozen=True)
class InvoiceLine:
    """One line of an invoice Stripe would make (a preview), as Stripe gives it."""

    price_id: str | None
    # Packages of the price's billing units (1 for a base price).
    quantity: int
    amount: Decimal
    description: str
    # Unix seconds.
    period: tuple[int, int]


@dataclass(frozen=True)
class ToldAs:
    """Whose prices a preview's lines are told by: the plans (the first one for a line of
    none of them) and the features that name their items."""

    plans: tuple[Plan, ...]
    features: Mapping[str, Feature]


@dataclass(frozen=True)
class ChangePreview:
    """What moving a paid subscription to another plan at once would invoice now (read from
    Stripe, nothing written), and when the subscription's current period ends."""

    period_end_s: int
    currency: str
    lines: tuple[PreviewLine, ...]
    # When Stripe made the preview (the customer's test clock time, if it has one).
    made_at_s: int | None = None


class Previews:
    def __init__(self, call: StripeCall, subscriptions: Subscriptions) -> None:
        self._call = call
        self._subscriptions = subscriptions

    def change(self, change: PlanChange, told_as: ToldAs) -> ChangePreview:
        """What `subscriptions.change_plan(change)` would invoice now, and when the
        subscription's period ends."""
        subscription = self._subscriptions.changed(change)
        period_end = int(subscription["items"]["data"][0]["current_period_end"])
        currency = str(subscription.get("currency") or settings().currency)
        ends_trial = trial_end_param(change, subscription) == "now"
        if change.proration == "none" and not ends_trial:
            return ChangePreview(period_end, currency, ())
        # Previews are of changes to an existing subscription: Stripe computes them in the
        # subscription's own billing mode, so no billing_mode is sent (see classic_billing).
        details: Any = {
            "items": replaced_items(subscription, change),
            "proration_behavior": change.proration,
        }
        if ends_trial:
            details["trial_end"] = "now"
        params: Any = {"subscription": subscription["id"], "subscription_details": details}
        preview = self._call(lambda: self._call.v1.invoices.create_preview(params)).to_dict()
        lines = _told_lines(preview, told_as)
        if ends_trial:
            # The first paid period starts now: the next one starts where its lines end.
            periods = [line.get("period") or {} for line in preview["lines"]["data"]]
            period_end = max([int(p.get("end") or 0) for p in periods] + [period_end])
        return ChangePreview(period_end, str(preview.get("currency") or currency), lines)

    def cancel(self, subscription_id: str, credit_unused: bool, told_as: ToldAs) -> ChangePreview:
        """What `subscriptions.cancel_now(subscription_id, credit_unused)` would invoice."""
        details: Any = {
            "cancel_now": True,
            "proration_behavior": "create_prorations" if credit_unused else "none",
        }
        return self._preview(subscription_id, details, told_as)

    def quantities(self, change: QuantityChange, told_as: ToldAs) -> ChangePreview:
        """What `subscriptions.change_quantities(change)` would invoice now."""
        found = self._call(
            lambda: self._call.v1.subscriptions.retrieve(change.subscription_id)
        ).to_dict()
        if change.proration == "none":
            return self._preview(change.subscription_id, None, told_as, found)
        details: Any = {
            "items": quantity_items(found, change),
            "proration_behavior": change.proration,
        }
        return self._preview(change.subscription_id, details, told_as, found)

    def _preview(
        self,
        subscription_id: str,
        details: Any,
        told_as: ToldAs,
        found: dict[str, Any] | None = None,
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
        lines = _told_lines(preview, told_as)
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


def _told_lines(preview: dict[str, Any], told_as: ToldAs) -> tuple[PreviewLine, ...]:
    return tuple(
        _told_line(_invoice_line(line), told_as.plans, told_as.features)
        for line in preview["lines"]["data"]
    )


def _told_line(
    line: InvoiceLine, plans: tuple[Plan, ...], features: Mapping[str, Feature]
) -> PreviewLine:
    """A Stripe invoice line, told as ours: which plan (and item) its price belongs to."""
    for plan in plans:
        mirror = plan.stripe
        if mirror is None:
            continue
        if line.price_id is not None and line.price_id == mirror.base_price_id:
            return _told(line, plan, None, Decimal(1), plan.name)
        for feature_id, price_id in mirror.item_price_ids.items():
            if price_id == line.price_id:
                units = next(
                    (
                        i.price.billing_units
                        for i in plan.terms.items
                        if i.feature_id == feature_id and i.price
                    ),
                    Decimal(1),
                )
                feature = features.get(feature_id)
                name = feature.name if feature is not None else feature_id
                return _told(line, plan, feature_id, units, name)
    # Not a price of either plan (another pending item on the invoice): shown as it is.
    return _told(line, plans[0], None, Decimal(1), line.description)


def _told(
    line: InvoiceLine, plan: Plan, feature_id: str | None, units: Decimal, name: str
) -> PreviewLine:
    return PreviewLine(
        display_name=name,
        description=line.description,
        amount=line.amount,
        plan_id=plan.id,
        feature_id=feature_id,
        quantity=Decimal(line.quantity) * units,
        period=(line.period[0] * 1000, line.period[1] * 1000),
    )
