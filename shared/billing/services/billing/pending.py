"""What is pending at a paid plan's period end, taken back so that it renews (and put back
when the change that took it back is not paid).

Two things end a paid plan then. A cancellation at the period end (`cancel_at_period_end`;
a downgrade to a free plan is one too, see free_at_period_end): taken back in Stripe, the
subscription sync drops the free plan shown as scheduled. And a downgrade to another paid
plan (scheduled_downgrades).

billing.update `uncancel` does this (attaching the plan held again is refused, as in
Autumn), under the customer's billing lock; an attach that changes the plan takes them back
first (`clear_pending_end`) and sets them again if its payment fails (`put_back`). Stripe is
changed first, then our copy: run again, it finds nothing left to change in Stripe and
finishes what a run cut short left undone in our copy.
"""

from __future__ import annotations

from typing import NamedTuple

from billing import clock
from billing.domain.attach import scheduled
from billing.domain.customers import Customer
from billing.domain.holdings import Subscription
from billing.domain.purchases import PendingPurchase
from billing.domain.stripe_subscriptions import StripeSubscription
from billing.domain.stripe_sync import plan_price_ids
from billing.services.app_webhooks import events as app_events
from billing.services.app_webhooks.events import ProductsUpdated
from billing.services.billing.free_at_period_end import schedule_free_plan
from billing.services.billing.purchases import reopen
from billing.services.billing.scheduled_downgrades import drop_paid_switch
from billing.services.billing.subscription_sync import sync_subscription
from billing.store import catalog, customers, scheduled_switches, stripe_timeline
from billing.store.catalog import Catalog
from billing.stripe_api import StripeFactory
from billing.stripe_api.changes import PlanChange
from billing.stripe_api.payments import LineItem


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
        stripe().subscriptions.set_cancel_at_period_end(
            live.id, False, f"{live.id}:{revision}:uncancel"
        )
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


class TakenBack(NamedTuple):
    """What `clear_pending_end` took back before a plan change: the subscription as Stripe
    has it then, the change that was scheduled for its period end (its purchase, dropped),
    and whether it was set to cancel then."""

    subscription: StripeSubscription
    switch: PendingPurchase | None = None
    canceling: bool = False


def clear_pending_end(
    customer: Customer,
    live: StripeSubscription,
    current: Catalog,
    purchase_id: str,
    stripe: StripeFactory,
) -> TakenBack:
    """Before another plan change on `live` (an upgrade, a downgrade): what would end its
    plan at the period end is taken back first, in Stripe and here: a downgrade scheduled
    (its schedule released), a move to a free plan, a cancellation. The newer request
    replaces them, and the change starts from a subscription that simply renews. Returns
    what was taken back, with the subscription as Stripe has it then (`put_back` restores
    the rest if the change is not paid). `purchase_id`: the change's purchase (a retry of
    it keeps what it scheduled, and reaches the same Stripe requests)."""
    dropped = drop_paid_switch(customer, live, current, stripe, free_too=True, keeping=purchase_id)
    if live.canceling:
        key = f"{live.id}:{stripe_timeline.mark(live.id).revision}:{purchase_id}:renew"
        renewing = stripe().subscriptions.set_cancel_at_period_end(live.id, False, key)
        return TakenBack(renewing, dropped, canceling=True)
    if dropped is None and live.schedule_id is None:
        return TakenBack(live)
    return TakenBack(stripe().subscriptions.retrieve(live.id) or live, dropped)


def put_back(
    customer_id: str, held: Subscription, taken: TakenBack, change_id: str, stripe: StripeFactory
) -> None:
    """A plan change whose payment did not go through (declined, or waiting for the
    customer) changed nothing in Stripe: what `clear_pending_end` took back for it is set
    again, in Stripe and here, so the customer ends where it was: the downgrade scheduled
    again (a new attempt of its purchase, same terms), or the cancellation at the period
    end. The change's open invoice, paid later, still applies it (Stripe's pending update)
    and its grant then finds the subscription as Stripe has it."""
    live = taken.subscription
    current = catalog.load()
    customer = customers.load(customer_id)
    leaving = current.version(held.plan_id, held.plan_version)
    if customer is None or leaving is None or customer.stripe_id is None:
        return
    switch = taken.switch
    plan = current.version(switch.plan_id, switch.plan_version) if switch else None
    if switch is not None and plan is not None:
        again = reopen(switch)
        if plan.free:
            schedule_free_plan(customer, plan, again, held, leaving, stripe)
            return
        change = PlanChange(
            purchase_id=again.id,
            stripe_customer=customer.stripe_id,
            leaving_price_ids=plan_price_ids(leaving),
            line_items=tuple(LineItem(price, n) for price, n in again.line_items),
            proration="none",
            subscription_id=live.id,
        )
        scheduled_switch = stripe().schedules.schedule_change(change)
        at_ms = scheduled_switch.at_s * 1000
        shown = scheduled(plan, f"sub_{again.id.removeprefix('pur_')}", at_ms)
        scheduled_switches.save_scheduled(
            customer, shown, again.id, scheduled_switch.subscription_id, at_ms, clock.now_ms()
        )
    elif taken.canceling:
        stripe().subscriptions.set_cancel_at_period_end(
            live.id, True, f"{live.id}:{change_id}:put_back"
        )
    else:
        return
    sync_subscription(live.id, stripe, refuse_early=False)
