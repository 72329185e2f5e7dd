"""billing.update: change a plan the customer holds: cancel it (now, or at its period
end), take back what ends it at its period end (a cancellation, or a downgrade scheduled
then: services/uncancel), or buy other quantities of its prepaid items. Asking for
a plan the customer does not hold is a plan change, which is what billing.attach does.

One billing change per customer at a time (the billing lock, as attach). Stripe is changed
first, with an idempotency key derived from the change and the subscription's revision (so
a retry reaches the same Stripe request, and the next change gets a new one); then our copy
is brought in line with Stripe by the same code the subscription webhooks run. A quantity
bought is granted only once its invoice is paid (Stripe applies it then).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from billing import clock
from billing.domain.attach import ProrationBehavior, RedirectMode, prepaid_packages
from billing.domain.customers import Customer
from billing.domain.errors import (
    InvalidRequest,
    PlanNotFound,
    RefusedChange,
    StripeCustomerGone,
)
from billing.domain.holdings import Subscription
from billing.domain.plans import FreeTrial, Plan
from billing.domain.stripe_subscriptions import StripeSubscription
from billing.domain.stripe_sync import default_plan
from billing.services.billing.attach import (
    LOCK_LEASE_MS,
    AttachPlan,
    AttachResult,
    RequiredAction,
    attach,
    schedule_default_plan,
)
from billing.services.billing.purchases import drop_pending
from billing.services.billing.subscription_sync import (
    billing_subscription,
    expire_now,
    sync_subscription,
)
from billing.services.billing.uncancel import drop_paid_switch, uncancel
from billing.services.customers.get import get_customer
from billing.services.customers.stripe_sync import unlink_gone_stripe_customer
from billing.store import billing_lock, catalog, stripe_timeline
from billing.store.catalog import Catalog
from billing.stripe_api import StripeFactory
from billing.stripe_api import catalog as stripe_catalog
from billing.stripe_api.invoices import Payment
from billing.stripe_api.subscriptions import PRORATIONS, QuantityChange

CancelAction = Literal["cancel_immediately", "cancel_end_of_cycle", "uncancel"]


@dataclass(frozen=True)
class UpdatePlan:
    customer_id: str
    # The plan held (or, not held, the plan to move to); else the held `subscription_id`,
    # else the customer's only recurring plan.
    plan_id: str | None = None
    subscription_id: str | None = None
    cancel_action: CancelAction | None = None
    # feature id -> units wanted of a prepaid item, its included units counted in.
    feature_quantities: Mapping[str, Decimal] = field(default_factory=dict)
    proration_behavior: ProrationBehavior = "prorate_immediately"
    # Only for a plan change (passed on to attach).
    version: int | None = None
    redirect_mode: RedirectMode = "if_required"
    free_trial: FreeTrial | None = None
    no_trial: bool = False


def update(command: UpdatePlan, stripe: StripeFactory) -> AttachResult:
    customer = get_customer(command.customer_id)
    current = catalog.load()
    held = held_subscription(customer, current, command)
    if held is None:
        return attach(as_attach(command), stripe=stripe)
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


def held_subscription(
    customer: Customer, current: Catalog, command: UpdatePlan
) -> Subscription | None:
    """The subscription to change; None when `plan_id` names a plan not held (a plan
    change)."""
    recurring = [
        s for s in customer.holdings.subscriptions if not s.one_off and s.status == "active"
    ]
    if command.cancel_action == "uncancel":
        _refuse_uncancel_of_scheduled(customer, command)
    if command.subscription_id is not None:
        found = next((s for s in recurring if s.id == command.subscription_id), None)
        if found is None or command.plan_id not in (None, found.plan_id):
            raise PlanNotFound(f"The customer has no subscription '{command.subscription_id}'.")
        return found
    if command.plan_id is not None:
        found = next((s for s in recurring if s.plan_id == command.plan_id), None)
        if found is None and command.cancel_action is not None:
            raise PlanNotFound(f"The customer has no plan '{command.plan_id}' to cancel.")
        if found is None and current.latest(command.plan_id) is None:
            raise PlanNotFound(f"No plan '{command.plan_id}'.")
        return found
    main = [s for s in recurring if not s.add_on]
    if len(main) != 1:
        raise InvalidRequest(
            "Say which plan to update: the customer holds "
            + ("none." if not main else "more than one."),
            details=[{"field": "plan_id", "message": "required here"}],
        )
    return main[0]


def _refuse_uncancel_of_scheduled(customer: Customer, command: UpdatePlan) -> None:
    """A plan shown as scheduled has not started: there is no cancellation of it to take
    back (Autumn answers 400 too). Taking back the change that scheduled it is an uncancel
    of the plan held now."""
    for sub in customer.holdings.subscriptions:
        if sub.status != "scheduled":
            continue
        if command.subscription_id is not None and sub.id != command.subscription_id:
            continue
        if command.plan_id not in (None, sub.plan_id) or (
            command.plan_id is None and command.subscription_id is None
        ):
            continue
        raise RefusedChange(
            f"The plan '{sub.plan_id}' is scheduled, not started: there is nothing to "
            "uncancel. Uncancel the plan it replaces to take the change back.",
            details=[{"field": "cancel_action", "message": "the plan is scheduled"}],
        )


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
    return _answer(command.customer_id, live.id, payment, stripe)


def plan_updated(held: Subscription, current: Catalog, command: UpdatePlan) -> Plan:
    """The plan version held, once the update is known to ask for something it can do."""
    plan = current.version(held.plan_id, held.plan_version)
    if plan is None:
        raise LookupError(f"plan {held.plan_id} v{held.plan_version} is gone")
    if command.version is not None and command.version != held.plan_version:
        raise InvalidRequest(
            "Moving to another version of a held plan is not supported yet.",
            details=[{"field": "version", "message": "differs from the version held"}],
        )
    if command.cancel_action is None and not command.feature_quantities:
        raise InvalidRequest(
            "Nothing to update: send cancel_action or feature_quantities.",
            details=[{"field": "cancel_action", "message": "or feature_quantities"}],
        )
    return plan


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


def quantity_change(
    customer: Customer,
    held: Subscription,
    plan: Plan,
    live: StripeSubscription,
    revision: int,
    command: UpdatePlan,
) -> QuantityChange | None:
    """The quantities asked for (the others kept as held); None if nothing changes."""
    assert plan.stripe is not None
    kept = {
        g.feature_id: g.included + g.prepaid
        for g in customer.holdings.grants
        if g.plan_id == held.plan_id
    }
    prepaid = set(prepaid_packages(plan, {}))
    wanted = {f: q for f, q in kept.items() if f in prepaid} | dict(command.feature_quantities)
    _refuse_below_use(customer, held, wanted)
    packages = prepaid_packages(plan, wanted)
    quantities = stripe_catalog.priced_quantities(plan.stripe, packages)
    billed = {item.price_id: item.quantity for item in live.items}
    if all(billed.get(price) == n for price, n in quantities.items()):
        return None
    digest = hashlib.sha256(json.dumps(quantities, sort_keys=True).encode()).hexdigest()[:16]
    return QuantityChange(
        subscription_id=live.id,
        quantities=quantities,
        proration=PRORATIONS[command.proration_behavior],
        change_id=f"{live.id}:{revision}:{digest}",
    )


def _refuse_below_use(
    customer: Customer, held: Subscription, wanted: Mapping[str, Decimal]
) -> None:
    """Held units (seats) in use are not given back: a cut below them would credit units
    the customer keeps using. Free them first (track a negative use), then cut."""
    for grant in customer.holdings.grants:
        if grant.plan_id != held.plan_id or grant.feature_id not in wanted:
            continue
        if grant.usage > 0 and wanted[grant.feature_id] < grant.usage:
            field_name = f"feature_quantities.{grant.feature_id}"
            raise InvalidRequest(
                f"{grant.usage} units of '{grant.feature_id}' are in use: buy at least that "
                "many, or free some first.",
                details=[{"field": field_name, "message": f"below the {grant.usage} in use"}],
            )


def _answer(
    customer_id: str, subscription_id: str, payment: Payment, stripe: StripeFactory
) -> AttachResult:
    """Paid: Stripe applied the new quantities, and our copy takes them. Else what the
    customer must do; the quantities apply (by webhook) once paid."""
    if payment.status == "paid":
        sync_subscription(subscription_id, stripe)
        return AttachResult(customer_id=customer_id, invoice=payment.invoice)
    hosted = payment.invoice.hosted_invoice_url if payment.invoice else None
    if payment.status == "requires_action":
        action = RequiredAction("3ds_required", "The card needs the customer to authenticate.")
        return AttachResult(customer_id, hosted, payment.invoice, action)
    # Paid on its page with another card, Stripe applies the change (as Autumn answers).
    action = RequiredAction("payment_failed", "The card on file was declined.")
    return AttachResult(customer_id, hosted, payment.invoice, action)


def as_attach(command: UpdatePlan) -> AttachPlan:
    assert command.plan_id is not None
    return AttachPlan(
        customer_id=command.customer_id,
        plan_id=command.plan_id,
        version=command.version,
        redirect_mode=command.redirect_mode,
        proration_behavior=command.proration_behavior,
        free_trial=command.free_trial,
        no_trial=command.no_trial,
        feature_quantities=command.feature_quantities,
    )
