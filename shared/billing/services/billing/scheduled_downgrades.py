"""A downgrade scheduled for a subscription's period end: shown and told when it is
scheduled, and taken back.

Attach schedules one in Stripe as a subscription schedule whose next phase bills the new
plan, with a pending purchase the subscription sync grants once Stripe bills it. Taken back
(billing.update's uncancel, a cancellation, a newer plan change, a move to a free plan),
the schedule is released (the subscription goes on billing its current items), then the
purchase and the plan shown as scheduled are dropped.
"""

from __future__ import annotations

from billing import clock
from billing.domain.attach import scheduled
from billing.domain.customers import Customer
from billing.domain.holdings import Holdings
from billing.domain.plans import Plan
from billing.domain.purchases import PendingPurchase
from billing.domain.stripe_subscriptions import StripeSubscription
from billing.domain.stripe_sync import billed_by
from billing.services.app_webhooks import events as app_events
from billing.services.app_webhooks.events import ProductsUpdated
from billing.services.billing.switches import shown_as_scheduled, switch_of
from billing.store import scheduled_switches
from billing.store.catalog import Catalog
from billing.stripe_api import StripeFactory


def show_scheduled(
    customer: Customer, plan: Plan, purchase: PendingPurchase, subscription_id: str, at_ms: int
) -> None:
    """`plan` shown as scheduled for `at_ms`, its purchase kept until the switch."""
    shown = scheduled(plan, f"sub_{purchase.id.removeprefix('pur_')}", at_ms)
    scheduled_switches.save_scheduled(
        customer, shown, purchase.id, subscription_id, at_ms, clock.now_ms()
    )


def announce_scheduled(plan: Plan, purchase: PendingPurchase) -> None:
    """As Autumn tells it: the plan the customer moves down to, when the move is scheduled."""
    app_events.publish(
        ProductsUpdated(
            cause=f"scheduled:{purchase.id}",
            customer_id=purchase.customer_id,
            plan_id=plan.id,
            plan_version=plan.version,
            scenario="downgrade",
        )
    )


def drop_paid_switch(
    customer: Customer,
    live: StripeSubscription,
    current: Catalog,
    stripe: StripeFactory,
    *,
    free_too: bool = False,
    keeping: str | None = None,
) -> PendingPurchase | None:
    """Takes back a downgrade to another paid plan scheduled for `live`'s period end (the
    schedule released in Stripe, then the purchase and the plan shown as scheduled dropped
    at once). Returns the purchase dropped; None when there was none, or another run
    dropped it first. Cancelling goes through here too: Stripe refuses to change the
    cancellation of a subscription that a schedule manages. `free_too`: a move to a free
    plan is dropped as well (its cancellation in Stripe is the caller's to take back).
    `keeping`: the purchase being scheduled (a retry finds its own switch: kept)."""
    switch = switch_of(live.id, current, customer)
    if switch is None or switch.purchase.status != "pending" or switch.purchase.id == keeping:
        return None
    # A move to a free plan is a cancellation: Stripe's own state says it is taken back.
    if switch.plan.free and not free_too:
        return None
    # A run cut short after the release finds no schedule left: only our copy is to follow.
    if live.schedule_id is not None and not switch.plan.free:
        stripe().schedules.release(live.schedule_id)
    shown = Holdings(subscriptions=shown_as_scheduled(switch, customer.holdings))
    # The plan held no longer shows it ends with the downgrade (the subscription sync shows
    # a cancellation set in Stripe, if any, as its own).
    renewed = [
        s._replace(canceled_at=None, expires_at=None)
        for s in billed_by(customer.holdings, live.id)
        if s.canceled_at is not None and not live.canceling
    ]
    dropped = scheduled_switches.drop_scheduled(
        customer,
        shown,
        switch.purchase.id,
        live.id,
        clock.now_ms(),
        renewed=renewed[0] if renewed else None,
    )
    return switch.purchase if dropped else None
