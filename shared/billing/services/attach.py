"""billing.attach: give a customer a plan, granted only once it is paid for.

One billing change per customer at a time (the billing lock: a concurrent one gets 423).
What the customer will get is kept first, as a pending purchase under an id derived from
the request and what the customer holds; every Stripe object made for it is keyed by that
id. So a retried attach (after a timeout, a 502, a double click) finds the same purchase and
the same Stripe objects, and the purchase is granted once, by whoever learns first that it
was paid: this call (card on file) or the webhook (checkout, authentication).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Literal

from billing import clock
from billing.config import settings
from billing.domain.attach import (
    AttachDecision,
    AttachOptions,
    PlanSchedule,
    RedirectMode,
    decide,
    ending_later,
    scheduled,
    trial_end,
)
from billing.domain.customers import Customer
from billing.domain.errors import InvalidRequest, PlanNotFound
from billing.domain.features import Feature
from billing.domain.plans import FreeTrial, Plan
from billing.domain.purchases import PendingPurchase
from billing.services import app_events
from billing.services.app_events import ProductsUpdated
from billing.services.customers.get import get_customer
from billing.services.customers.stripe_sync import linked_to_stripe, with_live_stripe_customer
from billing.services.free_at_period_end import schedule_free_plan
from billing.services.purchases import grant_purchase
from billing.services.uncancel import renew_by_attach
from billing.store import billing_lock, catalog, purchases
from billing.store.catalog import Catalog
from billing.stripe_api import StripeFactory
from billing.stripe_api.payments import (
    InvoiceSummary,
    LineItem,
    Payment,
    PlanChange,
    Proration,
    Sale,
    ScheduledSwitch,
)

ProrationBehavior = Literal["prorate_immediately", "bill_difference", "none"]

# Longer than the function may run (its timeout is 30 s), so a live call never loses it.
LOCK_LEASE_MS = 35_000
# A purchase nobody paid for is forgotten after a while (a checkout session lasts 24 h).
PENDING_TTL_S = 7 * 24 * 3600


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
    success_url: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    # Names the purchase for good when the request is made once on the caller's behalf (a
    # plan attached once a card is saved): a rerun then finds the same purchase, even after
    # it changed what the customer holds.
    purchase_key: str | None = None


@dataclass(frozen=True)
class RequiredAction:
    code: str
    reason: str


@dataclass(frozen=True)
class AttachResult:
    customer_id: str
    payment_url: str | None = None
    invoice: InvoiceSummary | None = None
    required_action: RequiredAction | None = None


def attach(command: AttachPlan, stripe: StripeFactory) -> AttachResult:
    holder = clock.new_internal_id("attach")
    billing_lock.take(command.customer_id, holder, clock.now_ms(), LOCK_LEASE_MS)
    try:
        return with_live_stripe_customer(
            command.customer_id, stripe, lambda: _attach(command, stripe)
        )
    finally:
        billing_lock.release(command.customer_id, holder)


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


def situation(command: AttachPlan) -> AttachSituation:
    """Reads what an attach of `command` decides on (the customer, the catalog)."""
    customer = get_customer(command.customer_id)
    current = catalog.load()
    held_plans = {
        sub.id: held
        for sub in customer.holdings.subscriptions
        if (held := current.version(sub.plan_id, sub.plan_version)) is not None
    }
    options = AttachOptions(
        redirect_mode=command.redirect_mode,
        plan_schedule=command.plan_schedule,
        free_trial=command.free_trial,
        no_trial=command.no_trial,
        feature_quantities=command.feature_quantities,
    )
    plan = _plan(current, command)
    return AttachSituation(customer, plan, held_plans, options, current.features)


def _attach(command: AttachPlan, stripe: StripeFactory) -> AttachResult:
    seen = situation(command)
    customer, plan = seen.customer, seen.plan
    renewed = ending_later(plan, customer.holdings, seen.held_plans)
    if renewed is not None:
        renew_by_attach(customer, renewed, seen.held_plans[renewed.id], stripe)
        return AttachResult(customer_id=command.customer_id)
    decision = seen.decide(has_card=False)
    if decision.flow == "grant":
        _grant_now(_pending(customer, plan, decision, command, None))
        return AttachResult(customer_id=command.customer_id)
    if decision.flow == "schedule" and plan.free and decision.replaces is not None:
        purchase = _pending(customer, plan, decision, command, None)
        if purchase.status == "pending":
            leaving_plan = seen.held_plans[decision.replaces.id]
            schedule_free_plan(customer, plan, purchase, leaving_plan, stripe)
        return AttachResult(customer_id=command.customer_id)
    customer = linked_to_stripe(customer, command.customer_id, stripe)
    assert customer.stripe_id is not None
    card = stripe().usable_payment_method(customer.stripe_id)
    decision = seen.decide(has_card=card is not None)
    if decision.flow == "card_required":
        return AttachResult(
            customer_id=command.customer_id,
            required_action=RequiredAction(
                "payment_method_required",
                "The customer has no card on file and redirect_mode is 'never'.",
            ),
        )
    purchase = _pending(customer, plan, decision, command, card)
    if purchase.status == "granted":
        return AttachResult(customer_id=command.customer_id)  # a retry of a finished attach
    sale = _sale(customer.stripe_id, plan, decision, purchase, command)
    if decision.flow == "checkout":
        session = stripe().create_checkout_session(_with_success_url(sale))
        return AttachResult(customer_id=command.customer_id, payment_url=session.url)
    leaving = seen.leaving(decision)
    if leaving is None or leaving.free:
        return _answer(command.customer_id, purchase, stripe().charge(sale, card))
    change = PlanChange(
        purchase_id=purchase.id,
        stripe_customer=customer.stripe_id,
        leaving_price_ids=price_ids(leaving),
        line_items=sale.line_items,
        proration=PRORATIONS[command.proration_behavior],
    )
    if decision.flow == "schedule":
        _schedule(customer, plan, purchase, stripe().schedule_change(change))
        return AttachResult(customer_id=command.customer_id)
    return _answer(command.customer_id, purchase, stripe().change_plan(change))


def _answer(customer_id: str, purchase: PendingPurchase, payment: Payment) -> AttachResult:
    """Granted if paid; else what the customer must do, and nothing granted."""
    if payment.status == "paid":
        grant_purchase(purchase.id)
        return AttachResult(customer_id=customer_id, invoice=payment.invoice)
    if payment.status == "requires_action":
        hosted = payment.invoice.hosted_invoice_url if payment.invoice else None
        action = RequiredAction("3ds_required", "The card needs the customer to authenticate.")
        return AttachResult(customer_id, hosted, payment.invoice, action)
    action = RequiredAction("payment_failed", "The card on file was declined.")
    return AttachResult(customer_id, None, payment.invoice, action)


# Autumn's names for how a change is prorated -> Stripe's. Billing the difference at once is
# what Stripe's always_invoice does for an upgrade.
PRORATIONS: dict[ProrationBehavior, Proration] = {
    "prorate_immediately": "always_invoice",
    "bill_difference": "always_invoice",
    "none": "none",
}


def price_ids(plan: Plan) -> frozenset[str]:
    mirror = plan.stripe
    if mirror is None:
        return frozenset()
    base = {mirror.base_price_id} if mirror.base_price_id else set()
    return frozenset(base | set(mirror.item_price_ids.values()))


def _schedule(
    customer: Customer, plan: Plan, purchase: PendingPurchase, switch: ScheduledSwitch
) -> None:
    """The plan shown as scheduled until the switch; the subscription's first invoice
    after it (paid) grants the purchase."""
    at_ms = switch.at_s * 1000
    shown = scheduled(plan, f"sub_{purchase.id.removeprefix('pur_')}", at_ms)
    purchases.save_scheduled(
        customer, shown, purchase.id, switch.subscription_id, at_ms, clock.now_ms()
    )
    # As Autumn tells it: the plan the customer moves down to, when the move is scheduled.
    app_events.publish(
        ProductsUpdated(
            cause=f"scheduled:{purchase.id}",
            customer_id=purchase.customer_id,
            plan_id=plan.id,
            plan_version=plan.version,
            scenario="downgrade",
        )
    )


def _plan(current: Catalog, command: AttachPlan) -> Plan:
    if command.version is None:
        plan = current.latest(command.plan_id)
    else:
        plan = current.version(command.plan_id, command.version)
    if plan is None:
        raise PlanNotFound(f"No plan '{command.plan_id}'.")
    return plan


def _grant_now(purchase: PendingPurchase) -> None:
    if purchase.status == "pending":
        grant_purchase(purchase.id)


def _pending(
    customer: Customer,
    plan: Plan,
    decision: AttachDecision,
    command: AttachPlan,
    card: str | None,
) -> PendingPurchase:
    """The purchase this request makes, kept (again) as pending: a retry of the same request
    against the same holdings derives the same id, so it finds the same purchase."""
    now = clock.now_ms()
    asked = {
        "customer": customer.internal_id,
        "plan": [plan.id, plan.version],
        "packages": {k: str(v) for k, v in sorted(decision.packages.items())},
        "trial": decision.trial.model_dump() if decision.trial else None,
        "flow": decision.flow,
        "proration": command.proration_behavior,
        "card": card,
        "held": command.purchase_key or sorted(sub.id for sub in customer.holdings.subscriptions),
        "success_url": command.success_url,
        "metadata": dict(sorted(command.metadata.items())),
    }
    digest = hashlib.sha256(json.dumps(asked, sort_keys=True).encode()).hexdigest()[:32]
    purchase = PendingPurchase(
        id=f"pur_{digest}",
        customer_id=command.customer_id,
        internal_id=customer.internal_id,
        plan_id=plan.id,
        plan_version=plan.version,
        packages=dict(decision.packages),
        trial_ends_at=trial_end(decision.trial, now),
        replaces=decision.replaces.id if decision.replaces is not None else None,
        created_at=now,
    )
    return purchases.save_pending(purchase, PENDING_TTL_S)


def _sale(
    stripe_customer: str,
    plan: Plan,
    decision: AttachDecision,
    purchase: PendingPurchase,
    command: AttachPlan,
) -> Sale:
    return Sale(
        purchase_id=purchase.id,
        stripe_customer=stripe_customer,
        line_items=sale_lines(plan, decision),
        recurring=not plan.one_off,
        trial_end_s=purchase.trial_ends_at // 1000 if purchase.trial_ends_at else None,
        success_url=command.success_url,
        metadata={"billing_customer_id": command.customer_id[:500], **command.metadata},
    )


def sale_lines(plan: Plan, decision: AttachDecision) -> tuple[LineItem, ...]:
    """The Stripe prices and quantities a purchase of `plan` is billed with."""
    mirror = plan.stripe
    if mirror is None:
        raise InvalidRequest(
            "This plan has no Stripe prices yet: update it once Stripe is reachable.",
            details=[{"field": "plan_id", "message": "the plan is not mirrored in Stripe"}],
        )
    lines: list[LineItem] = []
    if mirror.base_price_id is not None:
        lines.append(LineItem(mirror.base_price_id, 1))
    for feature_id, packages in decision.packages.items():
        price_id = mirror.item_price_ids.get(feature_id)
        if price_id is not None and packages > 0:
            lines.append(LineItem(price_id, int(packages)))
    return tuple(lines)


def _with_success_url(sale: Sale) -> Sale:
    url = sale.success_url or settings().checkout_success_url
    if url is None:
        raise InvalidRequest(
            "A checkout needs a success_url to send the customer back to.",
            details=[{"field": "success_url", "message": "required when checkout is needed"}],
        )
    return replace(sale, success_url=url)
