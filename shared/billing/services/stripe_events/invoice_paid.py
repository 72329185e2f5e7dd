"""invoice.paid: an invoice was paid. It is kept for the customer's invoice list; what it
paid for is granted if it waited for it (a card authenticated on the hosted invoice page, an
upgrade's invoice, the first renewal after a scheduled downgrade), or refunded when it no
longer fits the customer's plans (an old invoice paid from its link); a subscription's plans
are no longer `past_due`, and a renewal starts their new period."""

from __future__ import annotations

from billing.services.purchases import grant_purchase, grant_scheduled_switch, refund_if_stale
from billing.services.renewals import mark_paid, record_invoice
from billing.services.stripe_events.registry import StripeEventCommand, handles
from billing.stripe_api import StripeFactory


@handles("invoice.paid")
def on_invoice_paid(event: StripeEventCommand, stripe: StripeFactory) -> None:
    paid_for = stripe().invoice_paid_for(event.object_id)
    if paid_for is None or not paid_for.paid:
        return
    if paid_for.purchase_id is not None and not grant_purchase(paid_for.purchase_id):
        # Paid, not granted: one that no longer fits the customer's plans is refunded.
        refund_if_stale(paid_for.purchase_id, event.object_id, paid_for.subscription_id, stripe)
    if paid_for.subscription_id is not None and paid_for.created_s is not None:
        grant_scheduled_switch(paid_for.subscription_id, paid_for.created_s * 1000)
    invoice = stripe().invoice_state(event.object_id)
    customer = record_invoice(invoice) if invoice is not None else None
    if invoice is not None and customer is not None and invoice.subscription_id is not None:
        mark_paid(customer, invoice, stripe)
