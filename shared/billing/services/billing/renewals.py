"""What Stripe's invoices change for a customer: each kept for `invoices.list`, a renewal's
period closed once (its usage-based overage billed on the renewal's draft, its balances
reset), a failed payment marking the plans `past_due` and the next paid one restoring them.

Called by the `invoice.*` webhook handlers with the invoice as Stripe has it now, for a
customer of ours (an invoice of a Stripe customer that is none of ours changes nothing).
Writes about one Stripe subscription go through the order guard (`store.stripe_timeline`) on
its own timeline, so a late event never rolls a later state back.
"""

from __future__ import annotations

from billing import clock
from billing.domain.customers import Customer
from billing.domain.errors import StripeEventTooEarly
from billing.domain.holdings import Subscription
from billing.domain.periods import OverageCharge, closing_grants, reset_for_new_period
from billing.domain.plans import Plan
from billing.services.app_webhooks import events as app_events
from billing.services.app_webhooks.events import (
    InvoiceFinalized,
    ProductsUpdated,
)
from billing.services.billing.period_end import overage_charges
from billing.services.billing.purchases import drop_pending
from billing.services.billing.subscription_sync import awaits_grant, tell_payment_status
from billing.services.retry import on_conflict
from billing.store import catalog, customers, invoices, period_closes, stripe_timeline
from billing.store.catalog import Catalog
from billing.store.holdings import replaced_subscription
from billing.store.invoices import InvoiceRecord
from billing.store.profiles import required
from billing.stripe_api import StripeFactory
from billing.stripe_api.invoices import InvoiceState

# Positions on a Stripe subscription's timeline: an invoice's creation, then how its payment
# went (paid after failed), so a late failure of an invoice since paid changes nothing.
_FAILED, _PAID = 1, 2


def record_invoice(customer: Customer, invoice: InvoiceState, *, announce: bool = False) -> None:
    """Keeps the invoice (as it is now) for the customer's invoice list, and with `announce`
    tells the application it was finalized. `customer`: the customer of ours the invoice's
    Stripe customer is linked to (the caller resolved it: see stripe_events.command)."""
    current = catalog.load()
    plan_ids = invoice.plans_charged(
        plan for versions in current.plan_versions.values() for plan in versions
    )
    record = InvoiceRecord(
        stripe_id=invoice.id,
        customer_id=customer.id,
        status=invoice.status,
        total=invoice.total,
        currency=invoice.currency,
        hosted_invoice_url=invoice.hosted_invoice_url,
        created_at=invoice.created_s * 1000,
        plan_ids=plan_ids,
        number=invoice.number,
    )
    kept = invoices.put(customer.internal_id, record)
    if kept and announce:
        _announce_finalized(customer, record)


def _announce_finalized(customer: Customer, record: InvoiceRecord) -> None:
    """Tells the application (`invoice.finalized`); the delivery sends the invoice as
    invoices.list shows it."""
    app_events.publish(
        InvoiceFinalized(
            cause=f"{record.stripe_id}:finalized",
            customer_id=customer.id or "",
            invoice=record._asdict(),
        )
    )


def close_period(customer: Customer, invoice: InvoiceState, stripe: StripeFactory) -> None:
    """Closes the period a renewal invoice ends, once: the usage past usage-based allowances
    becomes invoice items (on the draft if it still is one, else on the next invoice) and
    the period's balances start again. A plan `past_due` keeps its balances (and bills
    nothing) until paid, unless its `config.ignore_past_due` says reset anyway. A trial's
    end bills no usage: what is billed in arrears is carried into the first paid period."""
    assert invoice.subscription_id is not None
    charges = period_closes.load(invoice.subscription_id, invoice.period_end_s)
    if charges is None:
        trial = _ends_a_trial(invoice, stripe)
        charges = on_conflict(lambda: _close(customer.id or "", invoice, trial))
    _end_stale_changes(invoice.subscription_id, invoice.period_end_s, stripe)
    if not charges or not customer.stripe_id:
        return
    if invoice.status == "draft":
        stripe().overage.add_items(invoice.id, customer.stripe_id, charges)
    else:
        # The renewal was finalized without the charges (its invoice.created came too late
        # or never came; or the period was closed before, by a downgrade switching in):
        # those not on it go on the customer's next invoice instead.
        stripe().overage.add_items(None, customer.stripe_id, charges)


def _end_stale_changes(subscription_id: str, period_end_s: int, stripe: StripeFactory) -> None:
    """A change still waiting for its invoice when its period closes (an upgrade declined or
    never authenticated) is over: its invoice is voided, so it is never paid for a period
    that has closed (an upgrade's carries the old plan's overage so far, which the renewal
    has just billed in full), and its attempt abandoned (a payment that raced the void is
    refunded; attaching again is a new attempt). Once voided, a later delivery finds none."""
    for stale_id, purchase_id in stripe().invoices.open_changes(subscription_id, period_end_s):
        if stripe().invoices.void(stale_id) == "void" and purchase_id is not None:
            drop_pending(purchase_id)


def _ends_a_trial(invoice: InvoiceState, stripe: StripeFactory) -> bool:
    """Whether the period the renewal closes was a free trial: it ends where the trial
    did (Stripe keeps the trial's end on the subscription once converted)."""
    assert invoice.subscription_id is not None
    state = stripe().subscriptions.retrieve(invoice.subscription_id)
    return state is not None and state.trial_end == invoice.period_end_s


def _close(customer_id: str, invoice: InvoiceState, trial: bool) -> tuple[OverageCharge, ...]:
    assert invoice.subscription_id is not None
    customer = customers.load_by_stripe_id(invoice.stripe_customer or "")
    if customer is None or customer.id != customer_id:
        return ()
    current = catalog.load()
    held = _paid_plans(customer, current, invoice)
    closing = {plan.id for sub, plan in held if not sub.past_due or plan.ignore_past_due}
    grants = closing_grants(customer.holdings.grants, closing, trial)
    charges = overage_charges(customer, grants, held, invoice.period_start_s, invoice.period_end_s)
    now = clock.now_ms()
    resets = [(g, reset_for_new_period(g, now)) for g in grants]
    started = [
        replaced_subscription(customer, sub, _in_next_period(sub, invoice)) for sub, _plan in held
    ]
    try:
        period_closes.close(
            customer, invoice.subscription_id, invoice.period_end_s, charges, resets, now, started
        )
    except period_closes.PeriodAlreadyClosed:
        return period_closes.load(invoice.subscription_id, invoice.period_end_s) or ()
    for sub, plan in held:
        if plan.id in closing:
            app_events.publish(
                ProductsUpdated(
                    cause=f"{invoice.subscription_id}:{invoice.period_end_s}",
                    customer_id=customer_id,
                    plan_id=plan.id,
                    plan_version=sub.plan_version,
                    scenario="renew",
                )
            )
    return charges


def mark_past_due(customer: Customer, invoice: InvoiceState) -> None:
    """A failed payment of a subscription's invoice: its plans are `past_due` at once (they
    keep their access: `past_due` is shown, not enforced)."""
    _set_past_due(customer, invoice, past_due=True, position=invoice.created_s * 10 + _FAILED)


def mark_paid(customer: Customer, invoice: InvoiceState, stripe: StripeFactory) -> None:
    """A paid invoice of a subscription: its plans are no longer `past_due`, and a renewal
    starts their new period (the period closes here if its `invoice.created` never came)."""
    if invoice.billing_reason == "subscription_cycle":
        close_period(customer, invoice, stripe)
    _set_past_due(customer, invoice, past_due=False, position=invoice.created_s * 10 + _PAID)


def _set_past_due(customer: Customer, invoice: InvoiceState, past_due: bool, position: int) -> None:
    """Marks (or clears) `past_due` on the paid plans, in the subscription's own order; the
    application is told (`customer.products.updated` past_due, `billing.updated`)."""
    customer_id = customer.id or ""
    on_conflict(lambda: _set_past_due_once(customer_id, invoice, past_due, position))


def _set_past_due_once(
    customer_id: str, invoice: InvoiceState, past_due: bool, position: int
) -> None:
    assert invoice.subscription_id is not None
    # Read again: a period closed just before (invoice.paid) changed the subscriptions.
    customer = customers.load_by_stripe_id(invoice.stripe_customer or "")
    if customer is None or customer.id != customer_id:
        return
    held = _paid_plans(customer, catalog.load(), invoice)
    changed = [sub for sub, _plan in held if sub.past_due != past_due]
    now = clock.now_ms()
    effects = [
        required(customer, now),
        *(replaced_subscription(customer, s, s._replace(past_due=past_due)) for s in changed),
    ]
    applied = stripe_timeline.apply_in_order(invoice.subscription_id, position, effects, now)
    if not applied or not changed:
        return
    tell_payment_status(customer_id, changed, past_due, invoice.id)


def _paid_plans(
    customer: Customer, current: Catalog, invoice: InvoiceState
) -> list[tuple[Subscription, Plan]]:
    """The paid recurring plans the invoice's own Stripe subscription bills (found by the
    subscription id they recorded, never by price: an add-on billed by a subscription of
    its own renews, and fails, alone). A renewal of a subscription whose purchase still
    waits to be granted came too early: refused, and Stripe delivers it again. (A first
    invoice's failure leaves the purchase pending for good: nothing to mark.)"""
    assert invoice.subscription_id is not None
    held = []
    for sub in customer.holdings.subscriptions:
        plan = current.version(sub.plan_id, sub.plan_version)
        if sub.one_off or sub.status != "active" or plan is None or plan.stripe is None:
            continue
        if _billed_by(sub, plan, invoice):
            held.append((sub, plan))
    renewal = invoice.billing_reason == "subscription_cycle"
    purchase_id = invoice.purchase_id
    if not held and renewal and purchase_id is not None and awaits_grant(purchase_id, customer):
        raise StripeEventTooEarly
    return held


def _billed_by(sub: Subscription, plan: Plan, invoice: InvoiceState) -> bool:
    """Whether the invoice's subscription bills the plan. A plan granted before the Stripe
    ids were recorded is matched by price, and only by an invoice of a subscription we made
    (it carries our purchase id): never by one made in Stripe's dashboard."""
    if sub.stripe_subscription_id is not None:
        return sub.stripe_subscription_id == invoice.subscription_id
    return invoice.purchase_id is not None and invoice.charges_a_price_of(plan)


def _in_next_period(sub: Subscription, invoice: InvoiceState) -> Subscription:
    """The subscription in the period the renewal starts (as Stripe's lines say)."""
    start_ms = invoice.period_end_s * 1000
    end_s = invoice.lines_period_end_s
    end_ms = end_s * 1000 if end_s and end_s * 1000 > start_ms else None
    return sub._replace(current_period_start=start_ms, current_period_end=end_ms)
