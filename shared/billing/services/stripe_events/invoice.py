"""Invoice events: each invoice is kept, as Stripe has it now, for the customer's invoice
list (a write never moves an invoice back in its life); what its payment changes follows.
An invoice of a Stripe customer that is none of ours is not kept."""

from __future__ import annotations

from typing import TYPE_CHECKING

from billing.domain.customers import Customer
from billing.services.billing.late_overage import bill_late_overage
from billing.services.billing.purchases import grant_purchase, refund_if_stale
from billing.services.billing.renewals import close_period, mark_paid, mark_past_due, record_invoice
from billing.services.billing.subscription_sync import sync_subscription
from billing.services.stripe_events.command import StripeEventCommand
from billing.stripe_api import StripeFactory

if TYPE_CHECKING:
    from billing.stripe_api.invoices import InvoiceState


def recorded(event: StripeEventCommand, customer: Customer | None, stripe: StripeFactory) -> None:
    """invoice.updated and invoice.voided: the invoice's status (and total) kept."""
    _kept(event, customer, stripe)


def finalized(event: StripeEventCommand, customer: Customer | None, stripe: StripeFactory) -> None:
    """invoice.finalized: the invoice kept, and the application told (`invoice.finalized`)."""
    _kept(event, customer, stripe, announce=True)


def created(event: StripeEventCommand, customer: Customer | None, stripe: StripeFactory) -> None:
    """invoice.created: a new invoice is kept; a renewal's draft (`subscription_cycle`) closes
    the period it ends: its usage-based overage is added to the draft as invoice items
    (Stripe waits about an hour before finalizing it), once however often the event comes,
    and the period's balances start again."""
    invoice = _kept(event, customer, stripe)
    if customer is None or invoice is None:
        return
    if invoice.subscription_id is not None and invoice.billing_reason == "subscription_cycle":
        close_period(customer, invoice, stripe)


def paid(event: StripeEventCommand, customer: Customer | None, stripe: StripeFactory) -> None:
    """invoice.paid: what it paid for is granted if it waited for it (a card authenticated on
    the hosted invoice page, an upgrade's invoice), or refunded when it no longer fits the
    customer's plans (an old invoice paid from its link); the subscription is synced as
    Stripe has it (a downgrade scheduled for the period end switches in once Stripe bills
    it); the invoice is kept, the plans it bills are no longer `past_due`, and a renewal
    starts their new period. The grant follows the purchase the invoice names, whose own
    customer is the one served (as for a Checkout Session)."""
    paid_for = stripe().invoices.paid_for(event.object_id)
    if paid_for is None or not paid_for.paid:
        return
    purchase_id, subscription_id = paid_for.purchase_id, paid_for.subscription_id
    if purchase_id is not None and not grant_purchase(purchase_id, subscription_id):
        # Paid, not granted: one that no longer fits the customer's plans is refunded.
        refund_if_stale(purchase_id, event.object_id, subscription_id, stripe)
    if purchase_id is not None:
        # An upgrade paid late: the old plan's usage since its attach, recorded by the
        # grant (this delivery's, or an earlier one's that stopped), billed once.
        bill_late_overage(purchase_id, stripe)
    if subscription_id is not None:
        # Converge on what the subscription bills now: its items recorded, a change at the
        # period end granted only if Stripe bills the new plan (never on our record alone).
        sync_subscription(subscription_id, stripe, refuse_early=False)
    invoice = _kept(event, customer, stripe)
    if customer is None or invoice is None:
        return
    if invoice.subscription_id is not None:
        mark_paid(customer, invoice, stripe)


def payment_failed(
    event: StripeEventCommand, customer: Customer | None, stripe: StripeFactory
) -> None:
    """invoice.payment_failed: a subscription's invoice could not be charged; its plans are
    `past_due` at once (access kept), until a payment succeeds (invoice.paid)."""
    invoice = _kept(event, customer, stripe)
    if customer is None or invoice is None:
        return
    # Re-read: a retry that succeeded since makes this failure old news.
    if invoice.subscription_id is None or invoice.status != "open":
        return
    mark_past_due(customer, invoice)


def _kept(
    event: StripeEventCommand,
    customer: Customer | None,
    stripe: StripeFactory,
    announce: bool = False,
) -> InvoiceState | None:
    """The event's invoice as Stripe has it now, kept for the customer's invoice list; None
    (nothing kept) for a customer none of ours or an invoice Stripe no longer has."""
    if customer is None:
        return None
    invoice = stripe().invoices.state(event.object_id)
    if invoice is not None:
        record_invoice(customer, invoice, announce=announce)
    return invoice
