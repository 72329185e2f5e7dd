"""billing.preview_update: what `billing.update` would do with the same request, and what it
would invoice now, changing nothing.

The subscription and the checks are update's own (`held_subscription`, `plan_updated`).
Amounts come from Stripe's invoice preview of the very change update would ask for: the
credit for the unused time of a cancel now, the prorations of new prepaid quantities. A
cancel at the period end and an uncancel invoice nothing. A plan not held is a plan change,
previewed as billing.preview_attach does it. Nothing is written: no lock, no Stripe call
that changes anything, no revision marked.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from billing import clock
from billing.config import settings
from billing.domain.attach_preview import (
    Cycle,
    PlanMove,
    PreviewLine,
    bought_quantities,
    held_quantities,
    next_cycle,
    total,
)
from billing.domain.customers import Customer
from billing.domain.errors import InvalidRequest
from billing.domain.holdings import Subscription
from billing.domain.plans import Plan
from billing.domain.quantities import prepaid_packages
from billing.domain.stripe_subscriptions import StripeSubscription
from billing.services.billing.previews import preview_of_attach
from billing.services.billing.stacking import unstack_change
from billing.services.billing.subscription_sync import billing_subscription
from billing.services.billing.updating import (
    UpdatePlan,
    as_attach,
    held_subscription,
    plan_updated,
    quantity_change,
)
from billing.services.customers.get import get_customer
from billing.services.customers.stripe_sync import with_live_stripe_customer
from billing.store import catalog
from billing.store.catalog import Catalog
from billing.stripe_api import StripeFactory
from billing.stripe_api.previews import ToldAs

Intent = Literal[
    "update_plan",
    "update_quantity",
    "cancel_immediately",
    "cancel_end_of_cycle",
    "uncancel",
    "none",
]


@dataclass(frozen=True)
class UpdatePreview:
    customer_id: str
    intent: Intent
    currency: str
    # What is invoiced now (a credit is negative).
    lines: tuple[PreviewLine, ...]
    incoming: tuple[PlanMove, ...]
    outgoing: tuple[PlanMove, ...]
    next_cycle: Cycle | None

    @property
    def total(self) -> Decimal:
        return total(self.lines)


def preview_update(command: UpdatePlan, stripe: StripeFactory) -> UpdatePreview:
    return with_live_stripe_customer(
        command.customer_id, stripe, lambda: _preview_update(command, stripe)
    )


def _preview_update(command: UpdatePlan, stripe: StripeFactory) -> UpdatePreview:
    customer = get_customer(command.customer_id)
    current = catalog.load()
    held = held_subscription(customer, current, command)
    if held is None:
        moved = preview_of_attach(as_attach(command), stripe)
        return UpdatePreview(
            customer_id=command.customer_id,
            intent="update_plan",
            currency=moved.currency,
            lines=moved.lines,
            incoming=moved.incoming,
            outgoing=moved.outgoing,
            next_cycle=moved.next_cycle,
        )
    plan = plan_updated(held, current, command)
    live = None
    if not plan.free and plan.stripe is not None and customer.stripe_id is not None:
        live = billing_subscription(customer, held, plan, stripe)
        if live is None:
            raise InvalidRequest(
                "The plan has no live subscription in Stripe to change.",
                details=[{"field": "plan_id", "message": "no Stripe subscription"}],
            )
    if command.cancel_action is not None:
        return _cancel_preview(command, customer, held, plan, live, current, stripe)
    return _quantities_preview(command, customer, held, plan, live, current, stripe)


def _cancel_preview(
    command: UpdatePlan,
    customer: Customer,
    held: Subscription,
    plan: Plan,
    live: StripeSubscription | None,
    current: Catalog,
    stripe: StripeFactory,
) -> UpdatePreview:
    action = command.cancel_action
    assert action is not None
    now = clock.now_ms()
    quantities = held_quantities(customer.holdings, plan.id)
    lines: tuple[PreviewLine, ...] = ()
    incoming: tuple[PlanMove, ...] = ()
    outgoing: tuple[PlanMove, ...] = ()
    if action == "cancel_immediately":
        ends_at = now
        if live is not None:
            credit = command.proration_behavior != "none"
            told = ToldAs((plan,), current.features)
            unstack = unstack_change(held, plan, live, credit)
            if unstack is not None:  # held stacked: one of them ends, as update ends it
                final = stripe().previews.quantities(unstack, told)
            else:
                final = stripe().previews.cancel(live.id, credit, told)
            lines = final.lines
            # Stripe's time: a customer on a test clock ends at the clock's time.
            ends_at = final.made_at_s * 1000 if final.made_at_s is not None else now
        outgoing = (PlanMove(plan, quantities, ends_at),)
    elif live is None:
        raise InvalidRequest(
            "A free plan has no billing period to end: cancel it with 'cancel_immediately'.",
            details=[{"field": "cancel_action", "message": "the plan is free"}],
        )
    elif action == "cancel_end_of_cycle":
        ends = live.current_period_end
        ends_ms = ends * 1000 if ends is not None else held.current_period_end or now
        outgoing = (PlanMove(plan, quantities, ends_ms),)
    else:  # uncancel: the plan goes on renewing
        incoming = (PlanMove(plan, quantities, None),)
    return UpdatePreview(
        customer_id=command.customer_id,
        intent=action,
        currency=settings().currency,
        lines=lines,
        incoming=incoming,
        outgoing=outgoing,
        next_cycle=None,
    )


def _quantities_preview(
    command: UpdatePlan,
    customer: Customer,
    held: Subscription,
    plan: Plan,
    live: StripeSubscription | None,
    current: Catalog,
    stripe: StripeFactory,
) -> UpdatePreview:
    if live is None:
        raise InvalidRequest(
            "This plan sells no prepaid quantities.",
            details=[{"field": "feature_quantities", "message": "the plan is free"}],
        )
    # Revision 0: the change id only keys Stripe writes, and a preview makes none.
    change = quantity_change(customer, held, plan, live, 0, command)
    unchanged = UpdatePreview(
        customer_id=command.customer_id,
        intent="none",
        currency=settings().currency,
        lines=(),
        incoming=(),
        outgoing=(),
        next_cycle=None,
    )
    if change is None:
        return unchanged
    preview = stripe().previews.quantities(change, ToldAs((plan,), current.features))
    kept = {g.feature_id: g.included + g.prepaid for g in customer.holdings.grants}
    wanted = {f: kept[f] for f in prepaid_packages(plan, {}) if f in kept}
    packages = prepaid_packages(plan, wanted | dict(command.feature_quantities))
    now = preview.made_at_s * 1000 if preview.made_at_s is not None else clock.now_ms()
    return UpdatePreview(
        customer_id=command.customer_id,
        intent="update_quantity",
        currency=preview.currency,
        lines=preview.lines,
        incoming=(PlanMove(plan, bought_quantities(plan, packages), None),),
        outgoing=(PlanMove(plan, held_quantities(customer.holdings, plan.id), now),),
        next_cycle=next_cycle(plan, current.features, packages, preview.period_end_s * 1000),
    )
