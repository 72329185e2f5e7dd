"""invoice.finalized: the invoice's status (and total) as Stripe has it now, kept for the
customer's invoice list (a write never moves an invoice back in its life), and the
application told (`invoice.finalized`)."""

from __future__ import annotations

from billing.services.billing.renewals import record_invoice
from billing.services.stripe_events.registry import StripeEventCommand, handles
from billing.stripe_api import StripeFactory


@handles("invoice.finalized")
def on_invoice_finalized(event: StripeEventCommand, stripe: StripeFactory) -> None:
    invoice = stripe().invoices.state(event.object_id)
    if invoice is not None:
        record_invoice(invoice, announce=True)
