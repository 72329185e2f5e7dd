"""invoice.paid: an invoice of one of our purchases was paid (a card authenticated on the
hosted invoice page, or an upgrade's invoice); grant what it pays for, if not yet granted.
The first renewal after a scheduled change (a downgrade) grants that change; other renewals
change nothing here."""

from __future__ import annotations

from billing.services.purchases import grant_purchase, grant_scheduled_switch
from billing.services.stripe_events.registry import StripeEventCommand, handles
from billing.stripe_api import StripeFactory


@handles("invoice.paid")
def on_invoice_paid(event: StripeEventCommand, stripe: StripeFactory) -> None:
    paid_for = stripe().invoice_paid_for(event.object_id)
    if paid_for is None or not paid_for.paid:
        return
    if paid_for.purchase_id is not None:
        grant_purchase(paid_for.purchase_id)
    if paid_for.subscription_id is None or paid_for.created_s is None:
        return
    grant_scheduled_switch(paid_for.subscription_id, paid_for.created_s * 1000)
