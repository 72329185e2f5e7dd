"""invoice.payment_failed: a subscription's invoice could not be charged; its plans are
`past_due` at once (access kept), until a payment succeeds (invoice.paid)."""

from __future__ import annotations

from billing.services.billing.renewals import mark_past_due, record_invoice
from billing.services.stripe_events.registry import StripeEventCommand, handles
from billing.stripe_api import StripeFactory


@handles("invoice.payment_failed")
def on_invoice_payment_failed(event: StripeEventCommand, stripe: StripeFactory) -> None:
    invoice = stripe().invoices.state(event.object_id)
    if invoice is None:
        return
    customer = record_invoice(invoice)
    # Re-read: a retry that succeeded since makes this failure old news.
    if customer is None or invoice.subscription_id is None or invoice.status != "open":
        return
    mark_past_due(customer, invoice)
