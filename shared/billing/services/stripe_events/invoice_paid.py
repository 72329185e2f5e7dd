"""invoice.paid: an invoice of one of our purchases was paid (a card authenticated on the
hosted invoice page, or a checkout's invoice); grant what it pays for, if not yet granted.
Renewals of held subscriptions carry no pending purchase and change nothing here."""

from __future__ import annotations

from billing.services.purchases import grant_purchase
from billing.services.stripe_events.registry import StripeEventCommand, handles
from billing.stripe_api import StripeFactory


@handles("invoice.paid")
def on_invoice_paid(event: StripeEventCommand, stripe: StripeFactory) -> None:
    paid_for = stripe().invoice_paid_for(event.object_id)
    if paid_for is None or paid_for.purchase_id is None or not paid_for.paid:
        return
    grant_purchase(paid_for.purchase_id)
