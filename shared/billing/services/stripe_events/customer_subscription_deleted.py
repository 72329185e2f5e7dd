"""customer.subscription.deleted: a Stripe subscription ended (canceled now, at its period
end, or at a trial's end without a card). Its plan expires and the group's default plan is
given back; a move to a free plan scheduled for that end is granted instead."""

from __future__ import annotations

from billing.services.billing.subscription_sync import sync_subscription
from billing.services.stripe_events.registry import StripeEventCommand, handles
from billing.stripe_api import StripeFactory


@handles("customer.subscription.deleted")
def on_subscription_deleted(event: StripeEventCommand, stripe: StripeFactory) -> None:
    sync_subscription(event.object_id, stripe, event_created=event.created)
