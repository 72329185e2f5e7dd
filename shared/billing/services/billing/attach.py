"""billing.attach: give a customer a plan, granted only once it is paid for.

One billing change per customer at a time (the billing lock: a concurrent one gets 423).
What the customer will get is kept first, as a purchase keyed by what is bought (the
customer, the plan's group or add-on slot, the plan and its version) and an attempt number
(domain/purchases); every Stripe object made for it is keyed by the attempt's id. So:

- a retried attach (after a timeout, a 502, a double click) finds the same open attempt and
  the same Stripe objects, and the purchase is granted once, by whoever learns first that it
  was paid: this call (card on file) or the webhook (checkout, authentication);
- two attaches of one plan that differ only in success_url or metadata (two tabs) are one
  purchase: the second gets the first one's Checkout page (made with what the first sent),
  never a second page that could be paid too;
- an attach asking for other terms (quantities, trial, card), or after a decline, opens a
  new attempt and closes the old one in Stripe first (its Checkout Session expired, its
  open invoice voided), so nothing of an older, different request is replayed or paid.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal

from billing import clock
from billing.config import settings
from billing.domain.attach import (
    INVOICE_FLOW,
    AttachDecision,
    AttachOptions,
    PlanSchedule,
    ProrationBehavior,
    RedirectMode,
    decide,
    scheduled,
    trial_end,
)
from billing.domain.customers import Customer
from billing.domain.errors import (
    BillingInProgress,
    InvalidRequest,
    PlanAlreadyAttached,
    PlanNotFound,
)
from billing.domain.features import Feature
from billing.domain.plans import Customization, FreeTrial, Plan, customized
from billing.domain.purchases import PendingPurchase, purchase_id, purchase_key, was_granted
from billing.domain.stripe_subscriptions import StripeSubscription
from billing.domain.stripe_sync import plan_price_ids
from billing.services.app_webhooks import events as app_events
from billing.services.app_webhooks.events import ProductsUpdated
from billing.services.billing.free_at_period_end import schedule_free_plan
from billing.services.billing.purchases import AFTER_CANCEL, grant_purchase
from billing.services.billing.subscription_sync import billing_subscription, sync_subscription
from billing.services.billing.uncancel import clear_pending_end, put_back
from billing.services.customers.get import get_customer
from billing.services.customers.stripe_sync import linked_to_stripe, with_live_stripe_customer
from billing.services.retry import on_conflict
from billing.store import billing_lock, catalog, purchases
from billing.store.catalog import Catalog
from billing.store.writes import Write
from billing.stripe_api import StripeFactory
from billing.stripe_api.invoices import InvoiceSummary, Payment
from billing.stripe_api.payments import LineItem, Sale, sale_lines
from billing.stripe_api.schedules import ScheduledSwitch
from billing.stripe_api.subscriptions import PRORATIONS, PlanChange

# Longer than the function may run (its timeout is 30 s), so a live call never loses it.
LOCK_LEASE_MS = 35_000


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


@dataclass(frozen=True)
class InvoiceMode:
    """Paid by an invoice Stripe sends, due `days_until_due` days after it is made, instead
    of a card charged now; the plan granted once it is paid, or at once with `enable_now`
    (an enterprise deal trusted to pay)."""

    days_until_due: int = 30
    enable_now: bool = False


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
    return purchases.trial_used(customer.internal_id, plan.id)


def _attach(command: AttachPlan, stripe: StripeFactory) -> AttachResult:
    seen = situation(command, stripe)
    customer, plan = seen.customer, seen.plan
    if plan.custom:
        catalog.put_custom_plan(plan)
    _refuse_stale(command, customer)
    decision = seen.decide(has_card=False)
    if decision.flow == "grant":
        _grant_now(_pending(customer, plan, decision, command, None, stripe, None))
        return AttachResult(customer_id=command.customer_id)
    if decision.flow == "schedule" and plan.free and decision.replaces is not None:
        leaving_plan = seen.held_plans[decision.replaces.id]
        purchase = _pending(customer, plan, decision, command, None, stripe, leaving_plan)
        if purchase.status == "pending":
            schedule_free_plan(customer, plan, purchase, decision.replaces, leaving_plan, stripe)
        return AttachResult(customer_id=command.customer_id)
    customer = linked_to_stripe(customer, command.customer_id, stripe)
    assert customer.stripe_id is not None
    if command.invoice_mode is not None:
        return _invoiced(command, command.invoice_mode, seen, customer, stripe)
    card = stripe().customers.usable_payment_method(customer.stripe_id)
    decision = seen.decide(has_card=card is not None)
    if decision.flow == "card_required":
        return AttachResult(
            customer_id=command.customer_id,
            required_action=RequiredAction(
                "payment_method_required",
                "The customer has no card on file and redirect_mode is 'never'.",
            ),
        )
    # Only a charge uses the card found now: a checkout's page collects one.
    charged_card = card if decision.flow != "checkout" else None
    purchase = _pending(
        customer, plan, decision, command, charged_card, stripe, seen.leaving(decision)
    )
    if purchase.status != "pending":
        return AttachResult(customer_id=command.customer_id)  # a rerun of a finished attach
    sale = _sale(customer.stripe_id, plan, purchase)
    if decision.flow == "checkout":
        return _checkout(command, purchase, sale, stripe)
    leaving = seen.leaving(decision)
    if leaving is None or leaving.free or decision.replaces is None:
        return _answer(command.customer_id, purchase, stripe().payments.charge(sale, card), stripe)
    live = billing_subscription(customer, decision.replaces, leaving, stripe)
    if live is None:
        raise InvalidRequest(
            "The customer's current plan has no live subscription in Stripe to change.",
            details=[{"field": "plan_id", "message": "no Stripe subscription to change"}],
        )
    # An upgrade or a downgrade replaces what would end the plan at its period end (a
    # scheduled downgrade, a cancellation): taken back first, in Stripe and here.
    taken = clear_pending_end(customer, live, catalog.load(), purchase.id, stripe)
    live = taken.subscription
    change = PlanChange(
        purchase_id=purchase.id,
        stripe_customer=customer.stripe_id,
        leaving_price_ids=plan_price_ids(leaving),
        line_items=sale.line_items,
        proration=PRORATIONS[command.proration_behavior],
        subscription_id=live.id,
    )
    if decision.flow == "schedule":
        _schedule(customer, plan, purchase, stripe().schedules.schedule_change(change))
        sync_subscription(live.id, stripe, refuse_early=False)
        return AttachResult(customer_id=command.customer_id)
    payment = stripe().subscriptions.change_plan(change)
    if payment.status != "paid":
        # Not paid: Stripe bills what it did, so what was taken back for it is set again.
        put_back(command.customer_id, decision.replaces, taken, purchase.id, stripe)
    return _answer(command.customer_id, purchase, payment, stripe)


def schedule_default_plan(
    customer_id: str, default: Plan, ending: StripeSubscription, stripe: StripeFactory
) -> None:
    """A plan cancelled at its period end (`ending`: its Stripe subscription, set to end)
    gives way then to the group's default plan, shown as scheduled until then, as Autumn
    shows it. Kept as a move to that free plan would be (free_at_period_end): a pending
    purchase of it that the subscription's end grants, dropped if the cancellation is
    taken back. Nothing when the customer holds the default plan already."""
    command = AttachPlan(
        customer_id=customer_id,
        plan_id=default.id,
        version=default.version,
        metadata={AFTER_CANCEL: "true"},
    )
    try:
        seen = situation(command, stripe)
        decision = seen.decide(has_card=False)
    except PlanAlreadyAttached:
        return
    if decision.replaces is None or decision.replaces.stripe_subscription_id not in (
        None,
        ending.id,
    ):
        return  # the plan ending is not the one the default plan replaces
    at_s = ending.cancel_at or ending.current_period_end
    if at_s is None:
        raise LookupError(f"Stripe subscription {ending.id} has no period end")
    leaving = seen.held_plans[decision.replaces.id]
    decision = replace(decision, flow="schedule", starts="period_end")
    purchase = _pending(seen.customer, default, decision, command, None, stripe, leaving)
    if purchase.status != "pending":
        return
    shown = scheduled(default, f"sub_{purchase.id.removeprefix('pur_')}", at_s * 1000)
    purchases.save_scheduled(
        seen.customer, shown, purchase.id, ending.id, at_s * 1000, clock.now_ms()
    )


def _invoiced(
    command: AttachPlan,
    mode: InvoiceMode,
    seen: AttachSituation,
    customer: Customer,
    stripe: StripeFactory,
) -> AttachResult:
    """A purchase paid by an invoice Stripe sends: a new subscription (or a one-off invoice)
    collected by invoice, granted when the invoice is paid (the invoice.paid webhook), or at
    once where the caller trusts the customer to pay."""
    assert customer.stripe_id is not None
    decision = invoice_decision(seen)
    leaving = seen.leaving(decision)
    purchase = _pending(customer, seen.plan, decision, command, None, stripe, leaving)
    if purchase.status != "pending":
        return AttachResult(customer_id=command.customer_id)  # a rerun of a finished attach
    sent = stripe().payments.send_invoice(
        _sale(customer.stripe_id, seen.plan, purchase), mode.days_until_due
    )
    purchases.record(purchase.id, invoice_id=sent.invoice.id)
    granted = mode.enable_now and grant_purchase(purchase.id, sent.subscription_id)
    if granted and sent.subscription_id is not None:
        sync_subscription(sent.subscription_id, stripe, refuse_early=False)
    return AttachResult(
        customer_id=command.customer_id,
        payment_url=sent.invoice.hosted_invoice_url,
        invoice=sent.invoice,
    )


def invoice_decision(seen: AttachSituation) -> AttachDecision:
    """What an attach paid by invoice does; refused where an invoice cannot pay for it (a
    change of a paid subscription, a trial with nothing due), never charged another way."""
    decision = replace(seen.decide(has_card=True), flow=INVOICE_FLOW)
    leaving = seen.leaving(decision)
    why = None
    if leaving is not None and not leaving.free:
        why = "a change of a paid plan is billed on its own subscription"
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


def _refuse_stale(command: AttachPlan, customer: Customer) -> None:
    if command.expected_holdings is None:
        return
    if holdings_snapshot(customer) != tuple(command.expected_holdings):
        raise InvalidRequest(
            "The customer's plans changed since this plan change was asked for: ask again.",
            details=[{"field": "plan_id", "message": "asked for a situation that has passed"}],
        )


def _checkout(
    command: AttachPlan, purchase: PendingPurchase, sale: Sale, stripe: StripeFactory
) -> AttachResult:
    """The attempt's one Checkout page: the one made already while it is open (a retry, a
    second tab), else a new one."""
    if purchase.checkout_session_id is not None:
        fields = stripe().retrieve_object("checkout.session", purchase.checkout_session_id)
        if fields is not None and fields.get("status") == "open" and fields.get("url"):
            return AttachResult(customer_id=command.customer_id, payment_url=str(fields["url"]))
        if fields is not None and fields.get("status") == "complete":
            _grant_paid_checkout(purchase.id, purchase.checkout_session_id, stripe)
            return AttachResult(customer_id=command.customer_id)
        # Expired before its webhook told us: the attempt is over, the next one starts.
        purchases.drop_pending(purchase.id)
        return _attach(command, stripe)
    session = stripe().checkout.create(_with_success_url(sale))
    purchases.record(purchase.id, checkout_session_id=session.id)
    return AttachResult(customer_id=command.customer_id, payment_url=session.url)


def _answer(
    customer_id: str, purchase: PendingPurchase, payment: Payment, stripe: StripeFactory
) -> AttachResult:
    """Granted if paid; else what the customer must do, and nothing granted. The attempt
    keeps its open invoice (voided if a later attempt supersedes it); a declined one is not
    retried with the same keys."""
    if payment.status == "paid":
        grant_purchase(purchase.id, payment.subscription_id)
        if payment.subscription_id is not None:
            # Converge: our copy takes the subscription as Stripe bills it now (its items).
            sync_subscription(payment.subscription_id, stripe, refuse_early=False)
        return AttachResult(customer_id=customer_id, invoice=payment.invoice)
    invoice_id = payment.invoice.id if payment.invoice else None
    # Either way the open invoice's page is where the customer pays (authenticates, or
    # gives another card, as Autumn answers a decline); its `invoice.paid` grants.
    hosted = payment.invoice.hosted_invoice_url if payment.invoice else None
    if payment.status == "requires_action":
        purchases.record(purchase.id, invoice_id=invoice_id)
        action = RequiredAction("3ds_required", "The card needs the customer to authenticate.")
        return AttachResult(customer_id, hosted, payment.invoice, action)
    purchases.record(purchase.id, invoice_id=invoice_id, declined=True)
    action = RequiredAction("payment_failed", "The card on file was declined.")
    return AttachResult(customer_id, hosted, payment.invoice, action)


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
    stripe: StripeFactory,
    leaving: Plan | None,
) -> PendingPurchase:
    """The open attempt at buying `plan` that answers this request: the one already open if
    it asks for the same terms (a retry, a second tab), else a new attempt (the open one,
    if any, closed in Stripe and superseded). The plan version is marked as shown to a
    customer with it, so it is never edited in place from then on."""
    now = clock.now_ms()
    key = purchase_key(customer.internal_id, plan, command.purchase_key)
    trial_from = _stripe_now_ms(customer, stripe, now) if decision.trial else now
    asked = PendingPurchase(
        id=purchase_id(key, 1),
        customer_id=command.customer_id,
        internal_id=customer.internal_id,
        plan_id=plan.id,
        plan_version=plan.version,
        packages=dict(decision.packages),
        trial_ends_at=trial_end(decision.trial, trial_from),
        replaces=decision.replaces.id if decision.replaces is not None else None,
        replaces_paid=leaving is not None and not leaving.free,
        created_at=now,
        flow=decision.flow,
        line_items=tuple(
            (line.price_id, line.quantity)
            for line in (() if plan.free else sale_lines(plan, decision.packages))
        ),
        trial=decision.trial,
        card=card,
        proration=command.proration_behavior,
        success_url=command.success_url,
        metadata=dict(command.metadata),
    )

    def attempt() -> PendingPurchase:
        previous = purchases.latest(key)
        if previous is not None and previous.reusable_for(asked):
            return previous
        if previous is not None and was_granted(previous.status) and command.purchase_key:
            return previous  # a rerun of an attach made once on the caller's behalf
        superseded = None
        if previous is not None and previous.status == "pending":
            _close_in_stripe(previous, stripe)
            superseded = previous
        number = previous.attempt + 1 if previous is not None else 1
        fresh = asked.model_copy(update={"id": purchase_id(key, number), "attempt": number})
        return purchases.open_attempt(fresh, superseded, _shown(plan))

    return on_conflict(attempt)


def _stripe_now_ms(customer: Customer, stripe: StripeFactory, now_ms: int) -> int:
    """When Stripe says it is for the customer: a Stripe customer on a test clock lives at
    the clock's frozen time (a trial end is refused unless after it), else it is now."""
    if customer.stripe_id is None:
        return now_ms
    frozen_s = stripe().test_clocks.now_s(customer.stripe_id)
    return now_ms if frozen_s is None else frozen_s * 1000


def _shown(plan: Plan) -> list[Write]:
    """The write marking the plan version as shown to a customer (from then on it is never
    edited in place), for the attempt's own transaction; nothing once it is in use. Read
    again: another customer may have just marked it (a new revision), and a version edited
    since the attach read it is not sold on terms it no longer has (423: ask again)."""
    if plan.in_use:
        return []
    now = catalog.load().version(plan.id, plan.version)
    if now is None or (now.terms, now.stripe) != (plan.terms, plan.stripe):
        raise BillingInProgress("The plan changed while it was attached: try again.")
    return [] if now.in_use else [catalog.mark_in_use(now)]


def _close_in_stripe(previous: PendingPurchase, stripe: StripeFactory) -> None:
    """The superseded attempt can no longer be paid: its Checkout page expired, its open
    invoice voided. One paid just before is granted, and this attach refused as held."""
    statuses = []
    if previous.checkout_session_id is not None:
        statuses.append(stripe().checkout.close(previous.checkout_session_id))
    if previous.invoice_id is not None:
        statuses.append(stripe().invoices.void(previous.invoice_id))
        if previous.flow == INVOICE_FLOW and statuses[-1] == "void":
            # Collected by invoice, its subscription is active unpaid: it ends with it.
            _end_invoiced_subscription(previous.invoice_id, stripe)
    if "complete" in statuses or "paid" in statuses:
        if previous.checkout_session_id is not None and "complete" in statuses:
            _grant_paid_checkout(previous.id, previous.checkout_session_id, stripe)
        elif previous.invoice_id is not None:
            paid = stripe().invoices.paid_for(previous.invoice_id)
            subscription_id = paid.subscription_id if paid is not None else None
            _granted_as_billed(previous.id, subscription_id, stripe)
        raise PlanAlreadyAttached(
            f"The customer just paid for the plan '{previous.plan_id}' on an earlier page."
        )


def _end_invoiced_subscription(invoice_id: str, stripe: StripeFactory) -> None:
    fields = stripe().retrieve_object("invoice", invoice_id) or {}
    details = (fields.get("parent") or {}).get("subscription_details") or {}
    subscription_id = details.get("subscription")
    if isinstance(subscription_id, str):
        stripe().subscriptions.cancel_now(subscription_id)


def _grant_paid_checkout(purchase_id: str, session_id: str, stripe: StripeFactory) -> None:
    """A Checkout page found paid before its webhook came: granted as the webhook grants it,
    with the Stripe subscription it made (the plan records it, and its items)."""
    paid = stripe().checkout.paid_for(session_id)
    if paid is None or not paid.paid:
        return
    _granted_as_billed(purchase_id, paid.subscription_id, stripe)


def _granted_as_billed(
    purchase_id: str, subscription_id: str | None, stripe: StripeFactory
) -> None:
    grant_purchase(purchase_id, subscription_id)
    if subscription_id is not None:
        sync_subscription(subscription_id, stripe, refuse_early=False)


def _sale(stripe_customer: str, plan: Plan, purchase: PendingPurchase) -> Sale:
    """What Stripe is asked for, from the attempt's frozen terms: a retry or a second tab
    sends the very same request (Stripe's idempotency key needs the same parameters)."""
    return Sale(
        purchase_id=purchase.id,
        stripe_customer=stripe_customer,
        line_items=tuple(LineItem(price, quantity) for price, quantity in purchase.line_items),
        recurring=not plan.one_off,
        trial_end_s=purchase.trial_ends_at // 1000 if purchase.trial_ends_at else None,
        success_url=purchase.success_url,
        metadata={"billing_customer_id": purchase.customer_id[:500], **purchase.metadata},
    )


def _with_success_url(sale: Sale) -> Sale:
    url = sale.success_url or settings().checkout_success_url
    if url is None:
        raise InvalidRequest(
            "A checkout needs a success_url to send the customer back to.",
            details=[{"field": "success_url", "message": "required when checkout is needed"}],
        )
    return replace(sale, success_url=url)
