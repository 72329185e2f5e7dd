"""Taking back what would end a paid plan at its period end, so that it renews.

Two things end a paid plan then. A cancellation at the period end (`cancel_at_period_end`;
a downgrade to a free plan is one too, see free_at_period_end): taken back in Stripe, the
subscription sync drops the free plan shown as scheduled. And a downgrade to another paid
plan, which attach schedules in Stripe as a subscription schedule whose next phase bills the
new plan, with a pending purchase the sync grants once Stripe bills it: taken back, the
schedule is released (the subscription goes on billing its current items), then the purchase
and the plan shown as scheduled are dropped.

billing.update `uncancel` does this (attaching the plan held again is refused, as in
Autumn), under the customer's billing lock. Stripe is changed first, then our
copy: run again, it finds nothing left to change in Stripe and finishes what a run cut short
left undone in our copy.
"""

from __future__ import annotations

from billing import clock
from billing.domain.customers import Customer
from billing.domain.holdings import Holdings, Subscription
from billing.domain.purchases import PendingPurchase
from billing.domain.stripe_sync import billed_by
from billing.services import app_events
from billing.services.app_events import ProductsUpdated
from billing.services.subscription_sync import (
    shown_as_scheduled,
    switch_of,
    sync_subscription,
)
from billing.store import purchases, stripe_timeline
from billing.store.catalog import Catalog
from billing.stripe_api import StripeFactory
from billing.stripe_api.subscriptions import StripeSubscription


def uncancel(
    customer: Customer,
    held: Subscription,
    live: StripeSubscription,
    revision: int,
    current: Catalog,
    stripe: StripeFactory,
) -> None:
    """`live`: the Stripe subscription billing `held`, read under the lock; `revision`: its
    mark's revision then (the cancellation's key, so the next change gets a new one)."""
    if live.canceling:
        stripe().set_cancel_at_period_end(live.id, False, f"{live.id}:{revision}:uncancel")
    dropped = drop_paid_switch(customer, live, current, stripe)
    if dropped is not None and customer.id is not None:
        app_events.publish(
            ProductsUpdated(
                cause=f"unscheduled:{dropped.id}",
                customer_id=customer.id,
                plan_id=held.plan_id,
                plan_version=held.plan_version,
                scenario="renew",
            )
        )
    sync_subscription(live.id, stripe)


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
        stripe().release_schedule(live.schedule_id)
    shown = Holdings(subscriptions=shown_as_scheduled(switch, customer.holdings))
    # The plan held no longer shows it ends with the downgrade (the subscription sync shows
    # a cancellation set in Stripe, if any, as its own).
    renewed = [
        s._replace(canceled_at=None, expires_at=None)
        for s in billed_by(customer.holdings, live.id)
        if s.canceled_at is not None and not live.canceling
    ]
    dropped = purchases.drop_scheduled(
        customer,
        shown,
        switch.purchase.id,
        live.id,
        clock.now_ms(),
        renewed=renewed[0] if renewed else None,
    )
    return switch.purchase if dropped else None


def clear_pending_end(
    customer: Customer,
    live: StripeSubscription,
    current: Catalog,
    purchase_id: str,
    stripe: StripeFactory,
) -> StripeSubscription:
    """Before another plan change on `live` (an upgrade, a downgrade): what would end its
    plan at the period end is taken back first, in Stripe and here: a downgrade scheduled
    (its schedule released), a move to a free plan, a cancellation. The newer request
    replaces them, and the change starts from a subscription that simply renews. Returns
    the subscription as Stripe has it then. `purchase_id`: the change's purchase (a retry of
    it keeps what it scheduled, and reaches the same Stripe requests)."""
    dropped = drop_paid_switch(customer, live, current, stripe, free_too=True, keeping=purchase_id)
    if live.canceling:
        key = f"{live.id}:{stripe_timeline.mark(live.id).revision}:{purchase_id}:renew"
        return stripe().set_cancel_at_period_end(live.id, False, key)
    if dropped is None and live.schedule_id is None:
        return live
    return stripe().retrieve_subscription(live.id) or live
