"""A cancellation at the period end made in Stripe itself (the customer portal, Stripe's
dashboard): the plan held shows canceling (the subscription sync does that), and, as after
billing.update's `cancel_end_of_cycle`, the group's default plan is scheduled for the end.

Autumn does the same on an external cancellation: it marks the plan canceled and schedules
the default plan of each group at the subscription's period end. Taken back in Stripe, the
scheduled default plan is dropped by the sync, as after billing.update's `uncancel`.
"""

from __future__ import annotations

from billing.domain.stripe_sync import default_plan, held_for
from billing.services.billing.attaching import schedule_default_plan
from billing.services.billing.subscription_sync import sync_subscription
from billing.services.billing.switches import switch_of
from billing.store import catalog, customers
from billing.stripe_api import StripeFactory


def default_follows_cancel(subscription_id: str, stripe: StripeFactory) -> None:
    """Schedules the default plan of the group whose plan this Stripe subscription bills,
    if Stripe has it set to end and nothing is scheduled for that end yet. Read afresh from
    Stripe, so a late or repeated event after the cancellation was taken back does nothing."""
    state = stripe().subscriptions.retrieve(subscription_id)
    if state is None or not state.canceling or state.ended or state.schedule_id is not None:
        return  # not ending, or a schedule (a change we asked for) decides what follows
    customer = customers.load_by_stripe_id(state.customer)
    if customer is None or customer.id is None:
        return
    current = catalog.load()
    switch = switch_of(state.id, current, customer)
    if switch is not None and switch.purchase.status == "pending":
        return  # something is scheduled for that end already (billing.update, a downgrade)
    held_plans = {
        sub.id: plan
        for sub in customer.holdings.subscriptions
        if (plan := current.version(sub.plan_id, sub.plan_version)) is not None
    }
    held = held_for(customer.holdings, held_plans, state)
    if held is None or held.canceled_at is None:
        return  # not granted yet, or the sync has not seen the cancellation
    default = default_plan(current.plans(), held_plans[held.id])
    if default is None:
        return
    schedule_default_plan(customer.id, default, state, stripe)
    # The plan held is now leaving for the default plan: its purchase follows (ending).
    sync_subscription(state.id, stripe)
