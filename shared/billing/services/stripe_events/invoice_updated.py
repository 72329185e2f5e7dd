"""invoice.updated: the invoice's status (and total) as Stripe has it now, kept for the
customer's invoice list; a write never moves an invoice back in its life."""

from __future__ import annotations

from billing.services.billing.renewals import record_invoice
from billing.services.stripe_events.registry import StripeEventCommand, handles
from billing.stripe_api import StripeFactory


@handles("invoice.updated")
def on_invoice_updated(event: StripeEventCommand, stripe: StripeFactory) -> None:
    invoice = stripe().invoices.state(event.object_id)
    if invoice is not None:
        record_invoice(invoice)
