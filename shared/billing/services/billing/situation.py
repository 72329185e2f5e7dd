"""What an attach decides on: the request (`AttachPlan`), the customer as it is now, the plan
asked for and the plans held (`AttachSituation`). Shared by billing.attach, billing.update's
plan change, the previews and a saved card's attach; read-only but for a customized plan's
Stripe prices (inert until a purchase bills them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal

from billing.domain.attach import (
    INVOICE_FLOW,
    AttachDecision,
    AttachOptions,
    PlanSchedule,
    ProrationBehavior,
    RedirectMode,
    decide,
)
from billing.domain.custom_plans import Customization, customized
from billing.domain.customers import Customer
from billing.domain.errors import (
    InvalidRequest,
    PlanNotFound,
)
from billing.domain.features import Feature
from billing.domain.plans import FreeTrial, Plan
from billing.services.customers.get import get_customer
from billing.store import catalog, purchase_grants
from billing.store.catalog import Catalog
from billing.stripe_api import StripeFactory


@dataclass(frozen=True)
class AttachPlan:
    customer_id: str
    plan_id: str
    version: int | None = None
    redirect_mode: RedirectMode = "if_required"
    plan_schedule: PlanSchedule | None = None
    proration_behavior: ProrationBehavior = "prorate_immediately"
    free_trial: FreeTrial | None = None
    no_trial: bool = False
    feature_quantities: Mapping[str, Decimal] = field(default_factory=dict)
    # Other terms (a base price, items) for this customer's purchase alone: bought as a
    # version of the plan made for it, billed by Stripe prices of its own.
    customize: Customization | None = None
    invoice_mode: InvoiceMode | None = None
    success_url: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    # Names the purchase for good when the request is made once on the caller's behalf (a
    # plan attached once a card is saved): a rerun then finds the same purchase, even after
    # it was granted (a one-off plan is not bought twice).
    purchase_key: str | None = None
    # The customer's subscriptions when the request was asked for (a plan attached once a
    # card is saved): if they changed since, the attach is refused rather than run stale.
    expected_holdings: tuple[str, ...] | None = None
    # The request's Idempotency-Key: another one of an add-on held, asked with it, is asked
    # of Stripe once for good (its retry finds the same quantity, not one more).
    request_key: str | None = None


@dataclass(frozen=True)
class InvoiceMode:
    """Paid by an invoice Stripe sends, due `days_until_due` days after it is made, instead
    of a card charged now; the plan granted once it is paid, or at once with `enable_now`
    (an enterprise deal trusted to pay)."""

    days_until_due: int = 30
    enable_now: bool = False


@dataclass(frozen=True)
class AttachSituation:
    """What an attach decides on: the customer as it is now, the plan asked for, the plan
    version behind each subscription it holds, and the caller's options. `billing.attach`
    acts on its decision; `billing.preview_attach` shows it."""

    customer: Customer
    plan: Plan
    held_plans: Mapping[str, Plan]
    options: AttachOptions
    features: Mapping[str, Feature]

    def decide(self, has_card: bool) -> AttachDecision:
        return decide(self.plan, self.customer.holdings, self.held_plans, has_card, self.options)

    def leaving(self, decision: AttachDecision) -> Plan | None:
        """The plan version the decision moves the customer away from, if any."""
        return self.held_plans[decision.replaces.id] if decision.replaces is not None else None


def situation(command: AttachPlan, stripe: StripeFactory) -> AttachSituation:
    """Reads what an attach of `command` decides on (the customer, the catalog). A plan
    customized for the customer is the version made for it, its prices found or made in
    Stripe (inert until a purchase bills them; kept in the catalog by the attach alone)."""
    customer = get_customer(command.customer_id)
    current = catalog.load()
    held_plans = {
        sub.id: held
        for sub in customer.holdings.subscriptions
        if (held := current.version(sub.plan_id, sub.plan_version)) is not None
    }
    plan = _plan(current, command)
    if command.customize is not None:
        plan = customized(plan, command.customize, customer.internal_id, current.features)
        kept = current.version(plan.id, plan.version)
        mirror = kept.stripe if kept is not None else stripe().catalog.mirror_plan(plan)
        plan = kept or plan.model_copy(update={"stripe": mirror})
    options = AttachOptions(
        redirect_mode=command.redirect_mode,
        plan_schedule=command.plan_schedule,
        free_trial=command.free_trial,
        no_trial=command.no_trial or _trial_had(customer, plan, command),
        feature_quantities=command.feature_quantities,
    )
    return AttachSituation(customer, plan, held_plans, options, current.features)


def _trial_had(customer: Customer, plan: Plan, command: AttachPlan) -> bool:
    """As in Autumn, a plan's own free trial is given once per customer: bought again (after
    a cancel), the plan is paid from the start. A trial the request names is the caller's
    own offer, and is given as asked."""
    if command.free_trial is not None or plan.terms.free_trial is None:
        return False
    return purchase_grants.trial_used(customer.internal_id, plan.id)


def _plan(current: Catalog, command: AttachPlan) -> Plan:
    if command.version is None:
        plan = current.latest(command.plan_id)
    else:
        plan = current.version(command.plan_id, command.version)
    if plan is None:
        raise PlanNotFound(f"No plan '{command.plan_id}'.")
    return plan


def invoice_decision(seen: AttachSituation) -> AttachDecision:
    """What an attach paid by invoice does; refused where an invoice cannot pay for it (a
    change of a paid subscription, a trial with nothing due), never charged another way."""
    decision = replace(seen.decide(has_card=True), flow=INVOICE_FLOW)
    leaving = seen.leaving(decision)
    why = None
    if leaving is not None and not leaving.free:
        why = "a change of a paid plan is billed on its own subscription"
    elif decision.stacks is not None:
        why = "another one of an add-on held is billed on the add-on's own subscription"
    elif decision.trial is not None:
        why = "a free trial has nothing to invoice yet"
    if why is not None:
        raise InvalidRequest(
            f"invoice_mode cannot pay for this attach: {why}.",
            details=[{"field": "invoice_mode", "message": why}],
        )
    return decision


def holdings_snapshot(customer: Customer) -> tuple[str, ...]:
    """What the customer holds, as an attach asked for later compares it: each subscription
    with its plan version, status and whether it is set to end."""
    return tuple(
        sorted(
            f"{s.id}:{s.plan_id}:{s.plan_version}:{s.status}:{s.canceled_at is not None}"
            for s in customer.holdings.subscriptions
        )
    )


def refuse_stale(command: AttachPlan, customer: Customer) -> None:
    if command.expected_holdings is None:
        return
    if holdings_snapshot(customer) != tuple(command.expected_holdings):
        raise InvalidRequest(
            "The customer's plans changed since this plan change was asked for: ask again.",
            details=[{"field": "plan_id", "message": "asked for a situation that has passed"}],
        )
