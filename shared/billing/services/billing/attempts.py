"""A purchase's attempts: opening the attempt that answers an attach (reusing the open one
for the same terms), closing a superseded one in Stripe, and what Stripe is asked for from
an attempt's frozen terms (its prices and quantities). Shared by the attach operation and
the previews."""

from __future__ import annotations

from dataclasses import replace

from billing import clock
from billing.config import settings
from billing.domain.attach import (
    INVOICE_FLOW,
    AttachDecision,
    trial_end,
)
from billing.domain.customers import Customer
from billing.domain.errors import (
    BillingInProgress,
    InvalidRequest,
    PlanAlreadyAttached,
    StoreUnavailable,
    StripeUnavailable,
)
from billing.domain.plans import Plan
from billing.domain.purchases import PendingPurchase, purchase_id, purchase_key, was_granted
from billing.observability import logger
from billing.services.billing.purchases import grant_purchase
from billing.services.billing.situation import AttachPlan
from billing.services.billing.subscription_sync import sync_subscription
from billing.services.retry import on_conflict
from billing.store import catalog, purchases
from billing.store.writes import Write
from billing.stripe_api import StripeFactory
from billing.stripe_api.payments import LineItem, Sale, sale_lines


def grant_now(purchase: PendingPurchase) -> None:
    if purchase.status == "pending":
        grant_purchase(purchase.id)


def open_attempt(
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
            close_in_stripe(previous, stripe)
            superseded = previous
        number = previous.attempt + 1 if previous is not None else 1
        fresh = asked.model_copy(update={"id": purchase_id(key, number), "attempt": number})
        return purchases.open_attempt(fresh, superseded, _shown(plan))

    return on_conflict(attempt)


def trial_running(
    decision: AttachDecision, stripe_customer: str, now: int, stripe: StripeFactory
) -> tuple[bool, int]:
    """Whether the plan the decision replaces is in its trial, and the time then (Stripe's:
    the customer's test clock, if it has one)."""
    trial_ends = decision.replaces.trial_ends_at if decision.replaces is not None else None
    if trial_ends is None:
        return False, now
    frozen_s = stripe().test_clocks.now_s(stripe_customer)
    now = now if frozen_s is None else frozen_s * 1000
    return trial_ends > now, now


def trial_as_stripe_starts_it(
    decision: AttachDecision, leaving: Plan | None, stripe_customer: str, stripe: StripeFactory
) -> AttachDecision:
    """The decision with the trial Stripe will actually run. A paid plan changed now that is
    not in its trial goes on in its Stripe period (the prorated difference charged now, no
    trial started), so the plan bought is granted without one: no trial end shown, its
    balances reset with Stripe's period. Autumn credits the unused time and starts the
    plan's trial instead (README, "Deliberate differences")."""
    if decision.trial is None or leaving is None or leaving.free or decision.flow == "schedule":
        return decision
    trialing, _now = trial_running(decision, stripe_customer, clock.now_ms(), stripe)
    return decision if trialing else replace(decision, trial=None)


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


def close_in_stripe(previous: PendingPurchase, stripe: StripeFactory) -> None:
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
            grant_paid_checkout(previous.id, previous.checkout_session_id, stripe)
        elif previous.invoice_id is not None:
            paid = stripe().invoices.paid_for(previous.invoice_id)
            subscription_id = paid.subscription_id if paid is not None else None
            _granted_as_billed(previous.id, subscription_id, stripe)
        raise PlanAlreadyAttached(
            f"The customer just paid for the plan '{previous.plan_id}' on an earlier page."
        )


def _end_invoiced_subscription(invoice_id: str, stripe: StripeFactory) -> None:
    invoice = stripe().invoices.state(invoice_id)
    if invoice is not None and invoice.subscription_id is not None:
        stripe().subscriptions.cancel_now(invoice.subscription_id)


def grant_paid_checkout(purchase_id: str, session_id: str, stripe: StripeFactory) -> None:
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
        converged_once_granted(subscription_id, stripe)


def converged_once_granted(subscription_id: str, stripe: StripeFactory) -> None:
    """Our copy takes the subscription as Stripe bills it now (its items). The purchase is
    paid and granted already: should the store or Stripe fail at this point, the attach is
    still done (answering a failure would have the caller retry into a 409 for a plan it
    now holds), and the subscription's own webhooks converge it as they always do."""
    try:
        sync_subscription(subscription_id, stripe, refuse_early=False)
    except (StoreUnavailable, StripeUnavailable, BillingInProgress) as error:
        logger.warning(
            "converging a granted purchase failed; its webhooks will",
            extra={"cause": type(error).__name__},
        )


def sale_of(stripe_customer: str, plan: Plan, purchase: PendingPurchase) -> Sale:
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


def with_success_url(sale: Sale) -> Sale:
    url = sale.success_url or settings().checkout_success_url
    if url is None:
        raise InvalidRequest(
            "A checkout needs a success_url to send the customer back to.",
            details=[{"field": "success_url", "message": "required when checkout is needed"}],
        )
    return replace(sale, success_url=url)
