"""invoice.paid: an invoice was paid. It is kept for the customer's invoice list; what it
paid for is granted if it waited for it (a card authenticated on the hosted invoice page, an
upgrade's invoice), or refunded when it no longer fits the customer's plans (an old invoice
paid from its link); the subscription is synced as Stripe has it (a downgrade scheduled for
the period end switches in once Stripe bills it); the plans it bills are no longer
`past_due`, and a renewal starts their new period."""

from __future__ import annotations

from billing.services.billing.purchases import grant_purchase, refund_if_stale
from billing.services.billing.renewals import mark_paid, record_invoice
from billing.services.billing.subscription_sync import sync_subscription
from billing.services.stripe_events.registry import StripeEventCommand, handles
from billing.stripe_api import StripeFactory


@handles("invoice.paid")
def on_invoice_paid(event: StripeEventCommand, stripe: StripeFactory) -> None:
    paid_for = stripe().invoices.paid_for(event.object_id)
    if paid_for is None or not paid_for.paid:
        return
    purchase_id, subscription_id = paid_for.purchase_id, paid_for.subscription_id
    if purchase_id is not None and not grant_purchase(purchase_id, subscription_id):
        # Paid, not granted: one that no longer fits the customer's plans is refunded.
        refund_if_stale(purchase_id, event.object_id, subscription_id, stripe)
    if subscription_id is not None:
        # Converge on what the subscription bills now: its items recorded, a change at the
        # period end granted only if Stripe bills the new plan (never on our record alone).
        sync_subscription(subscription_id, stripe, refuse_early=False)
    invoice = stripe().invoices.state(event.object_id)
    customer = record_invoice(invoice) if invoice is not None else None
    if invoice is not None and customer is not None and invoice.subscription_id is not None:
        mark_paid(customer, invoice, stripe)
