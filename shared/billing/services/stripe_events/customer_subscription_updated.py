"""customer.subscription.updated: anything changed on a Stripe subscription: its status
(active, trialing, past_due...), a cancellation at the period end set or taken back (from
the customer portal too), a trial that ended, new quantities applied once paid, or a
scheduled change (a downgrade) that switched in. Our copy takes Stripe's state as it is now,
re-read, so a late or repeated event changes nothing."""

from __future__ import annotations

from billing.services.billing.cancel_in_stripe import default_follows_cancel
from billing.services.billing.subscription_sync import sync_subscription
from billing.services.stripe_events.registry import StripeEventCommand, handles
from billing.stripe_api import StripeFactory


@handles("customer.subscription.updated")
def on_subscription_updated(event: StripeEventCommand, stripe: StripeFactory) -> None:
    sync_subscription(event.object_id, stripe, event_created=event.created)
    # A cancellation set in Stripe itself (the portal) schedules the default plan, as ours do.
    default_follows_cancel(event.object_id, stripe)
