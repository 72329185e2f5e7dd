"""customer.updated: a Stripe customer's name or email changed (in the dashboard, the
portal, Checkout); ours follows, as Stripe has it now."""

from __future__ import annotations

from billing.services.customers.stripe_sync import follow_stripe_contact_details
from billing.services.stripe_events.registry import StripeEventCommand, handles
from billing.stripe_api import StripeFactory


@handles("customer.updated")
def on_customer_updated(event: StripeEventCommand, stripe: StripeFactory) -> None:
    found = stripe().customers.retrieve(event.object_id)
    if found is not None:
        follow_stripe_contact_details(found)
