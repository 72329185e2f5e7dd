"""What a billing.update asks for, and the subscription and plan it changes: shared by the
update and its preview (which runs the same checks and computes the same Stripe change)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from billing.domain.attach import ProrationBehavior, RedirectMode
from billing.domain.customers import Customer
from billing.domain.errors import (
    InvalidRequest,
    PlanNotFound,
    RefusedChange,
)
from billing.domain.holdings import Subscription
from billing.domain.plans import FreeTrial, Plan
from billing.domain.quantities import prepaid_packages
from billing.domain.stripe_subscriptions import StripeSubscription
from billing.services.billing.situation import AttachPlan
from billing.store.catalog import Catalog
from billing.stripe_api import catalog as stripe_catalog
from billing.stripe_api.changes import PRORATIONS, QuantityChange

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
