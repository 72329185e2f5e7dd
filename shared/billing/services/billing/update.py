"""billing.update: change a plan the customer holds: cancel it (now, or at its period
end), take back what ends it at its period end (a cancellation, or a downgrade scheduled
then: billing/pending.py), or buy other quantities of its prepaid items. Asking for
a plan the customer does not hold is a plan change, which is what billing.attach does.

One billing change per customer at a time (the billing lock, as attach). Stripe is changed
first, with an idempotency key derived from the change and the subscription's revision (so
a retry reaches the same Stripe request, and the next change gets a new one); then our copy
is brought in line with Stripe by the same code the subscription webhooks run. A quantity
bought is granted only once its invoice is paid (Stripe applies it then).
"""

from __future__ import annotations

from typing import Literal

from billing import clock
from billing.domain.attach import ProrationBehavior
from billing.domain.customers import Customer
from billing.domain.errors import (
    InvalidRequest,
    PlanNotFound,
    StripeCustomerGone,
)
from billing.domain.holdings import Subscription
from billing.domain.plans import Plan
from billing.domain.stripe_subscriptions import StripeSubscription
from billing.domain.stripe_sync import default_plan
from billing.services.billing.attaching import (
    LOCK_LEASE_MS,
    AttachResult,
    attach_plan,
    quantities_answer,
    schedule_default_plan,
)
from billing.services.billing.pending import uncancel
from billing.services.billing.purchases import drop_pending
from billing.services.billing.scheduled_downgrades import drop_paid_switch
from billing.services.billing.stacking import unstack_change
from billing.services.billing.subscription_sync import (
    billing_subscription,
    expire_now,
    sync_subscription,
)
from billing.services.billing.updating import (
    UpdatePlan,
    as_attach,
    held_subscription,
    plan_updated,
    quantity_change,
)
from billing.services.customers.get import get_customer
from billing.services.customers.stripe_sync import unlink_gone_stripe_customer
from billing.store import billing_lock, catalog, stripe_timeline
from billing.store.catalog import Catalog
from billing.stripe_api import StripeFactory


def update(command: UpdatePlan, stripe: StripeFactory) -> AttachResult:
    customer = get_customer(command.customer_id)
    current = catalog.load()
    held = held_subscription(customer, current, command)
    if held is None:
        return attach_plan(as_attach(command), stripe=stripe)
    holder = clock.new_internal_id("update")
    billing_lock.take(command.customer_id, holder, clock.now_ms(), LOCK_LEASE_MS)
    try:
        # Read again under the lock: a change that ended just before may have moved things.
        customer = get_customer(command.customer_id)
        held = held_subscription(customer, current, command)
        if held is None:
            raise PlanNotFound(f"The customer no longer has the plan '{command.plan_id}'.")
        try:
            return _update(customer, held, current, command, stripe)
        except StripeCustomerGone:
            # Its subscriptions went with it (their events end the plans): unlinked, the
            # caller's retry sees the customer as it is now (409 stripe_customer_deleted).
            unlink_gone_stripe_customer(command.customer_id, stripe)
            raise
    finally:
        billing_lock.release(command.customer_id, holder)


def _update(
    customer: Customer,
    held: Subscription,
    current: Catalog,
    command: UpdatePlan,
    stripe: StripeFactory,
) -> AttachResult:
    done = AttachResult(customer_id=command.customer_id)
    plan = plan_updated(held, current, command)
    if plan.free or plan.stripe is None or customer.stripe_id is None:
        return _update_free(customer, held, plan, current, command, done)
    live = billing_subscription(customer, held, plan, stripe)
    if live is None:
        raise InvalidRequest(
            "The plan has no live subscription in Stripe to change.",
            details=[{"field": "plan_id", "message": "no Stripe subscription"}],
        )
    revision = stripe_timeline.mark(live.id).revision
    if command.cancel_action == "uncancel":
        uncancel(customer, held, live, revision, current, stripe)
        return done
    unstack = None
    if command.cancel_action == "cancel_immediately":
        unstack = unstack_change(held, plan, live, command.proration_behavior != "none")
    if unstack is not None:
        # Held stacked: one of them ends now, the others go on.
        payment = stripe().subscriptions.change_quantities(unstack)
        return quantities_answer(command.customer_id, live.id, payment, stripe)
    if command.cancel_action is not None:
        # A change still waiting for its payment (a declined upgrade, new quantities) goes
        # too: its open invoice, paid later, would apply it to a plan being cancelled.
        void_pending_change(live, stripe)
        # A downgrade scheduled for the period end goes with the plan it was to replace.
        drop_paid_switch(customer, live, current, stripe)
        ending = _cancel(live, command.cancel_action, revision, command.proration_behavior, stripe)
        default = default_plan(current.plans(), plan)
        if ending is not None and default is not None:
            schedule_default_plan(command.customer_id, default, ending, stripe)
        sync_subscription(live.id, stripe)
        return done
    change = quantity_change(customer, held, plan, live, revision, command)
    if change is None:
        return done
    payment = stripe().subscriptions.change_quantities(change)
    return quantities_answer(command.customer_id, live.id, payment, stripe)


def _update_free(
    customer: Customer,
    held: Subscription,
    plan: Plan,
    current: Catalog,
    command: UpdatePlan,
    done: AttachResult,
) -> AttachResult:
    """A plan with nothing billed in Stripe: only cancelling it now means anything."""
    if command.feature_quantities:
        raise InvalidRequest(
            "This plan sells no prepaid quantities.",
            details=[{"field": "feature_quantities", "message": "the plan is free"}],
        )
    if command.cancel_action == "cancel_immediately":
        expire_now(customer, held, plan, current)
        return done
    raise InvalidRequest(
        "A free plan has no billing period to end: cancel it with 'cancel_immediately'.",
        details=[{"field": "cancel_action", "message": "the plan is free"}],
    )


def void_pending_change(live: StripeSubscription, stripe: StripeFactory) -> None:
    """Voids the open invoice of a change Stripe keeps pending until it is paid, so it can
    no longer be paid (nor apply the change); the purchase that waited for it, if any, is
    abandoned (a new attach is a new attempt)."""
    if not live.pending_update or live.latest_invoice is None:
        return
    state = stripe().invoices.state(live.latest_invoice)
    if state is None or state.status != "open":
        return
    if stripe().invoices.void(state.id) == "void" and state.purchase_id is not None:
        drop_pending(state.purchase_id)


def _cancel(
    live: StripeSubscription,
    action: Literal["cancel_immediately", "cancel_end_of_cycle"],
    revision: int,
    proration: ProrationBehavior,
    stripe: StripeFactory,
) -> StripeSubscription | None:
    """The subscription as Stripe has it once set to end at its period end; None once
    cancelled now."""
    if action == "cancel_immediately":
        # As Autumn: the unused time is credited unless the caller asked for no proration.
        stripe().subscriptions.cancel_now(live.id, credit_unused=proration != "none")
        return None
    if live.canceling:
        return live  # already so: nothing to ask of Stripe
    return stripe().subscriptions.set_cancel_at_period_end(
        live.id, True, f"{live.id}:{revision}:{action}"
    )
