"""customer.deleted: a Stripe customer was deleted (in Stripe's dashboard, or by us); the
customer linked to it is unlinked, and gets a new one on its next billing call. Stripe ended
its subscriptions with it: their own events end the plans they billed."""

from __future__ import annotations

from billing.services.customers.stripe_sync import forget_deleted_stripe_customer
from billing.services.stripe_events.registry import StripeEventCommand, handles
from billing.stripe_api import StripeFactory


@handles("customer.deleted")
def on_customer_deleted(event: StripeEventCommand, stripe: StripeFactory) -> None:
    forget_deleted_stripe_customer(event.object_id, stripe)
