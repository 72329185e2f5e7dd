"""Subscriptions and one-off purchases as the Customer response shows them."""

from __future__ import annotations

from decimal import Decimal

from billing import clock
from billing.api.wire.common import WireResponse
from billing.domain.holdings import Subscription


class SubscriptionResponse(WireResponse):
    id: str
    plan_id: str
    auto_enable: bool
    add_on: bool
    status: str
    past_due: bool
    canceled_at: int | None
    expires_at: int | None
    trial_ends_at: int | None
    started_at: int
    current_period_start: int | None
    current_period_end: int | None
    quantity: Decimal


class PurchaseResponse(WireResponse):
    plan_id: str
    expires_at: int | None
    started_at: int
    quantity: Decimal


# Ours alone: Autumn's answer has no such fields.
_NOT_SHOWN = frozenset(
    {"plan_version", "one_off", "stripe_subscription_id", "stripe_item_ids", "purchase_id"}
)


def subscription_response(sub: Subscription, now_ms: int | None = None) -> SubscriptionResponse:
    """As Autumn shows a subscription: `trial_ends_at` only while trialing (Stripe keeps a
    converted subscription's past trial end; Autumn shows null); a plan Stripe does not
    bill (free) shows its trial as its current period."""
    now = clock.now_ms() if now_ms is None else now_ms
    shown = {k: v for k, v in sub._asdict().items() if k not in _NOT_SHOWN}
    trialing = sub.trial_ends_at is not None and sub.trial_ends_at > now
    if not trialing:
        shown["trial_ends_at"] = None
    elif sub.stripe_subscription_id is None and sub.current_period_end is None:
        shown["current_period_start"] = sub.started_at
        shown["current_period_end"] = sub.trial_ends_at
    return SubscriptionResponse(**shown)


def purchase_response(sub: Subscription) -> PurchaseResponse:
    return PurchaseResponse(
        plan_id=sub.plan_id,
        expires_at=sub.expires_at,
        started_at=sub.started_at,
        quantity=sub.quantity,
    )
