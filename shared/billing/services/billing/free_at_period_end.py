"""Leaving a paid plan for a free one at the period end (a downgrade to free).

Nothing is billed for a free plan, so there is no schedule phase to switch to: the paid
Stripe subscription is set to cancel at its period end, and the free plan is shown as
scheduled until then. When Stripe ends the subscription (customer.subscription.deleted),
the free plan's purchase is granted in place of the paid plan. Taking the cancellation back
(billing.update `uncancel`, or the portal) drops the scheduled free plan.
"""

from __future__ import annotations

from billing.domain.customers import Customer
from billing.domain.errors import InvalidRequest
from billing.domain.holdings import Subscription
from billing.domain.plans import Plan
from billing.domain.purchases import PendingPurchase
from billing.services.billing.scheduled_downgrades import (
    announce_scheduled,
    drop_paid_switch,
    show_scheduled,
)
from billing.services.billing.subscription_sync import billing_subscription, sync_subscription
from billing.store import catalog, stripe_timeline
from billing.stripe_api import StripeFactory


def schedule_free_plan(
    customer: Customer,
    plan: Plan,
    purchase: PendingPurchase,
    held: Subscription,
    leaving: Plan,
    stripe: StripeFactory,
) -> None:
    live = billing_subscription(customer, held, leaving, stripe)
    if live is None:
        raise InvalidRequest(
            "The customer's current plan has no live subscription in Stripe to end.",
            details=[{"field": "plan_id", "message": "no Stripe subscription to cancel"}],
        )
    # Another change scheduled for the period end is replaced by this one: a downgrade to a
    # paid plan has its schedule released first (Stripe refuses to set the cancellation of
    # a subscription a schedule manages), an earlier move to another free plan is dropped.
    drop_paid_switch(customer, live, catalog.load(), stripe, free_too=True, keeping=purchase.id)
    # Keyed by the purchase and the subscription's revision: a retry of this attach reaches
    # the same Stripe request, and the same move asked again after an uncancel (the same
    # pending purchase) a new one, not the replay of the first answer.
    revision = stripe_timeline.mark(live.id).revision
    ending = stripe().subscriptions.set_cancel_at_period_end(
        live.id, True, f"{purchase.id}:{revision}"
    )
    at_s = ending.cancel_at or ending.current_period_end
    if at_s is None:
        raise LookupError(f"Stripe subscription {live.id} has no period end")
    show_scheduled(customer, plan, purchase, live.id, at_s * 1000)
    sync_subscription(live.id, stripe)
    # As a downgrade between paid plans is told when it is scheduled.
    announce_scheduled(plan, purchase)
