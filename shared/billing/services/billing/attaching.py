"""Attaching a plan to a customer, granted only once it is paid for: the operation behind
billing.attach, billing.update's plan change and the attach after a saved card.

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

from dataclasses import dataclass, replace

from billing import clock
from billing.domain.attach import AttachDecision, scheduled
from billing.domain.customers import Customer
from billing.domain.errors import (
    InvalidRequest,
    PlanAlreadyAttached,
)
from billing.domain.holdings import Subscription
from billing.domain.plans import Plan
from billing.domain.purchases import PendingPurchase
from billing.domain.stripe_subscriptions import StripeSubscription
from billing.domain.stripe_sync import plan_price_ids
from billing.services.billing.attempts import (
    converged_once_granted,
    grant_now,
    grant_paid_checkout,
    open_attempt,
    sale_of,
    trial_as_stripe_starts_it,
    with_success_url,
)
from billing.services.billing.free_at_period_end import schedule_free_plan
from billing.services.billing.late_overage import bill_late_overage
from billing.services.billing.pending import clear_pending_end, put_back
from billing.services.billing.period_end import upgrade_overage
from billing.services.billing.purchases import AFTER_CANCEL, grant_purchase
from billing.services.billing.scheduled_downgrades import announce_scheduled, show_scheduled
from billing.services.billing.situation import (
    AttachPlan,
    AttachSituation,
    InvoiceMode,
    invoice_decision,
    refuse_stale,
    situation,
)
from billing.services.billing.stacking import stack_change
from billing.services.billing.subscription_sync import billing_subscription, sync_subscription
from billing.services.customers.stripe_sync import linked_to_stripe, with_live_stripe_customer
from billing.store import billing_lock, catalog, purchases, scheduled_switches
from billing.stripe_api import StripeFactory
from billing.stripe_api.changes import PRORATIONS, PlanChange
from billing.stripe_api.invoices import InvoiceSummary, Payment
from billing.stripe_api.payments import Sale
from billing.stripe_api.schedules import ScheduledSwitch

# Longer than the function may run (its timeout is 30 s), so a live call never loses it.
LOCK_LEASE_MS = 35_000


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


def attach_plan(command: AttachPlan, stripe: StripeFactory) -> AttachResult:
    holder = clock.new_internal_id("attach")
    billing_lock.take(command.customer_id, holder, clock.now_ms(), LOCK_LEASE_MS)
    try:
        return with_live_stripe_customer(
            command.customer_id, stripe, lambda: _attach(command, stripe)
        )
    finally:
        billing_lock.release(command.customer_id, holder)


def _attach(command: AttachPlan, stripe: StripeFactory) -> AttachResult:
    seen = situation(command, stripe)
    customer, plan = seen.customer, seen.plan
    if plan.custom:
        catalog.put_custom_plan(plan)
    refuse_stale(command, customer)
    decision = seen.decide(has_card=False)
    if decision.flow == "grant":
        grant_now(open_attempt(customer, plan, decision, command, None, stripe, None))
        return AttachResult(customer_id=command.customer_id)
    if decision.flow == "schedule" and plan.free and decision.replaces is not None:
        leaving_plan = seen.held_plans[decision.replaces.id]
        purchase = open_attempt(customer, plan, decision, command, None, stripe, leaving_plan)
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
    if decision.stacks is not None:
        return _stack(command, customer, decision.stacks, plan, stripe)
    # Only a charge uses the card found now: a checkout's page collects one.
    charged_card = card if decision.flow != "checkout" else None
    decision = trial_as_stripe_starts_it(
        decision, seen.leaving(decision), customer.stripe_id, stripe
    )
    purchase = open_attempt(
        customer, plan, decision, command, charged_card, stripe, seen.leaving(decision)
    )
    if purchase.status != "pending":
        return AttachResult(customer_id=command.customer_id)  # a rerun of a finished attach
    sale = sale_of(customer.stripe_id, plan, purchase)
    if decision.flow == "checkout":
        return _checkout(command, purchase, sale, stripe)
    leaving = seen.leaving(decision)
    if leaving is None or leaving.free or decision.replaces is None:
        return _answer(command.customer_id, purchase, stripe().payments.charge(sale, card), stripe)
    return _change_paid_plan(command, customer, decision, (plan, leaving), purchase, sale, stripe)


def _change_paid_plan(
    command: AttachPlan,
    customer: Customer,
    decision: AttachDecision,
    moves: tuple[Plan, Plan],
    purchase: PendingPurchase,
    sale: Sale,
    stripe: StripeFactory,
) -> AttachResult:
    """An upgrade or a downgrade of a paid plan: its own Stripe subscription is changed (now,
    or scheduled for its period end)."""
    plan, leaving = moves  # the plan bought, the paid plan left
    assert customer.stripe_id is not None
    assert decision.replaces is not None
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
    if live.status == "trialing":
        # As Autumn has it: a plan bought without a trial of its own ends the trial now
        # (its first paid period charged at once), one with a trial starts it afresh (the
        # attempt's trial end, the same on a retry); the trial's usage is billed by no one.
        # Declined, the trial goes on, with its usage.
        ends = purchase.trial_ends_at
        change = replace(
            change,
            ends_trial=ends is None,
            restarts_trial_at=None if ends is None else ends // 1000,
        )
    else:
        # The old plan's period ends now: its overage so far, recorded before the change
        # (whose grant resets the balances), goes on the change's own invoice, paid (or
        # never) with it.
        overage = upgrade_overage(customer, decision.replaces, leaving, live, purchase.id)
        product = leaving.stripe.product_id if leaving.stripe is not None else None
        change = replace(change, charges=overage, charges_product=product)
    payment = stripe().subscriptions.change_plan(change)
    if payment.status != "paid":
        # Not paid: Stripe bills what it did, so what was taken back for it is set again.
        put_back(command.customer_id, decision.replaces, taken, purchase.id, stripe)
    return _answer(command.customer_id, purchase, payment, stripe)


def _stack(
    command: AttachPlan,
    customer: Customer,
    held: Subscription,
    plan: Plan,
    stripe: StripeFactory,
) -> AttachResult:
    """One more of a recurring add-on held (services/billing/stacking), the rest of its
    period charged now to its subscription's card and applied by Stripe only once paid (a
    pending update); the sync that follows gives the quantity and the allowances, as for
    billing.update's quantities. No purchase is kept: the Stripe call is keyed by the
    subscription's revision and the quantity asked."""
    proration = PRORATIONS[command.proration_behavior]
    # Named by the caller's Idempotency-Key, or by the card setup that asked for it (whose
    # completion, delivered again, runs this again): a rerun adds nothing more.
    request_key = command.request_key or command.purchase_key
    live, change = stack_change(customer, held, plan, proration, stripe, request_key)
    if change is None:
        sync_subscription(live.id, stripe)  # Stripe bills it already: our copy follows
        return AttachResult(customer_id=command.customer_id)
    payment = stripe().subscriptions.change_quantities(change)
    return quantities_answer(command.customer_id, live.id, payment, stripe)


def quantities_answer(
    customer_id: str, subscription_id: str, payment: Payment, stripe: StripeFactory
) -> AttachResult:
    """New quantities of a subscription, paid: Stripe applied them, and our copy takes them.
    Else what the customer must do; they apply (by webhook) once paid."""
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
    purchase = open_attempt(seen.customer, default, decision, command, None, stripe, leaving)
    if purchase.status != "pending":
        return
    shown = scheduled(default, f"sub_{purchase.id.removeprefix('pur_')}", at_s * 1000)
    scheduled_switches.save_scheduled(
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
    purchase = open_attempt(customer, seen.plan, decision, command, None, stripe, leaving)
    if purchase.status != "pending":
        return AttachResult(customer_id=command.customer_id)  # a rerun of a finished attach
    sent = stripe().payments.send_invoice(
        sale_of(customer.stripe_id, seen.plan, purchase), mode.days_until_due
    )
    purchases.record(purchase.id, invoice_id=sent.invoice.id)
    granted = mode.enable_now and grant_purchase(purchase.id, sent.subscription_id)
    if granted and sent.subscription_id is not None:
        converged_once_granted(sent.subscription_id, stripe)
    return AttachResult(
        customer_id=command.customer_id,
        payment_url=sent.invoice.hosted_invoice_url,
        invoice=sent.invoice,
    )


def _checkout(
    command: AttachPlan, purchase: PendingPurchase, sale: Sale, stripe: StripeFactory
) -> AttachResult:
    """The attempt's one Checkout page: the one made already while it is open (a retry, a
    second tab), else a new one."""
    if purchase.checkout_session_id is not None:
        made = stripe().checkout.state(purchase.checkout_session_id)
        if made is not None and made.status == "open" and made.url is not None:
            return AttachResult(customer_id=command.customer_id, payment_url=made.url)
        if made is not None and made.status == "complete":
            grant_paid_checkout(purchase.id, purchase.checkout_session_id, stripe)
            return AttachResult(customer_id=command.customer_id)
        # Expired before its webhook told us: the attempt is over, the next one starts.
        purchases.drop_pending(purchase.id)
        return _attach(command, stripe)
    session = stripe().checkout.create(with_success_url(sale))
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
        # Usage tracked on the plan left while this call ran (an upgrade that invoices
        # nothing now has no invoice.paid to bill it).
        bill_late_overage(purchase.id, stripe)
        if payment.subscription_id is not None:
            converged_once_granted(payment.subscription_id, stripe)
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
    show_scheduled(customer, plan, purchase, switch.subscription_id, switch.at_s * 1000)
    announce_scheduled(plan, purchase)
