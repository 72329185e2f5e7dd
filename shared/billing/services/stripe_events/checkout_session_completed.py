"""checkout.session.completed: the customer paid on Stripe's page; grant what it bought."""

from __future__ import annotations

from billing.services.purchases import grant_purchase
from billing.services.stripe_events.registry import StripeEventCommand, handles
from billing.stripe_api import StripeFactory


@handles("checkout.session.completed")
def on_checkout_completed(event: StripeEventCommand, stripe: StripeFactory) -> None:
    # Re-read: the event may be stale, and only a session Stripe calls paid grants anything
    # (a delayed payment method completes the session before the money arrives).
    paid_for = stripe().checkout_paid_for(event.object_id)
    if paid_for is None or paid_for.purchase_id is None or not paid_for.paid:
        return
    grant_purchase(paid_for.purchase_id)
