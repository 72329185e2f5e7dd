"""customer.subscription.created: a Stripe subscription began. What it sells is granted
when it is paid (checkout.session.completed, invoice.paid); here our copy of an existing
one only takes Stripe's period, trial and status, as for any change."""

from __future__ import annotations

from billing.services.billing.subscription_sync import sync_subscription
from billing.services.stripe_events.registry import StripeEventCommand, handles
from billing.stripe_api import StripeFactory


@handles("customer.subscription.created")
def on_subscription_created(event: StripeEventCommand, stripe: StripeFactory) -> None:
    sync_subscription(event.object_id, stripe, event_created=event.created)
