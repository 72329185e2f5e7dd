"""invoice.created: a new invoice is kept; a renewal's draft (`subscription_cycle`) closes
the period it ends: its usage-based overage is added to the draft as invoice items (Stripe
waits about an hour before finalizing it), once however often the event comes, and the
period's balances start again."""

from __future__ import annotations

from billing.services.billing.renewals import close_period, record_invoice
from billing.services.stripe_events.registry import StripeEventCommand, handles
from billing.stripe_api import StripeFactory


@handles("invoice.created")
def on_invoice_created(event: StripeEventCommand, stripe: StripeFactory) -> None:
    invoice = stripe().invoices.state(event.object_id)
    if invoice is None:
        return
    customer = record_invoice(invoice)
    if customer is None or invoice.subscription_id is None:
        return
    if invoice.billing_reason == "subscription_cycle":
        close_period(customer, invoice, stripe)
