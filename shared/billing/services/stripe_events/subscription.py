"""Subscription events: whatever happened to a Stripe subscription, our copy takes its state
as Stripe has it now, re-read, so a late or repeated event changes nothing. A subscription
of a Stripe customer that is none of ours changes nothing."""

from __future__ import annotations

from billing.domain.customers import Customer
from billing.services.billing.cancel_in_stripe import default_follows_cancel
from billing.services.billing.period_end import bill_final_period
from billing.services.billing.subscription_sync import sync_subscription
from billing.services.stripe_events.command import StripeEventCommand
from billing.stripe_api import StripeFactory


def synced(event: StripeEventCommand, customer: Customer | None, stripe: StripeFactory) -> None:
    """customer.subscription.created: a Stripe subscription began. What it sells is granted
    when it is paid (checkout.session.completed, invoice.paid); here our copy of an existing
    one only takes Stripe's period, trial and status, as for any change."""
    if customer is None:
        return
    sync_subscription(event.object_id, stripe, event_created=event.created)


def deleted(event: StripeEventCommand, customer: Customer | None, stripe: StripeFactory) -> None:
    """customer.subscription.deleted: it ended (canceled now, at its period end, or at a
    trial's end without a card). Its plan expires and the group's default plan is given
    back; a move to a free plan scheduled for that end is granted instead. Ended with its
    period, that period's overage (recorded by the sync as it closed it) is billed on a
    final invoice, once however often and late the event comes."""
    if customer is None:
        return
    sync_subscription(event.object_id, stripe, event_created=event.created)
    state = stripe().subscriptions.retrieve(event.object_id)
    if state is not None:
        bill_final_period(state, stripe)


def updated(event: StripeEventCommand, customer: Customer | None, stripe: StripeFactory) -> None:
    """customer.subscription.updated: its status (active, trialing, past_due...), a
    cancellation at the period end set or taken back (from the customer portal too), a trial
    that ended, new quantities applied once paid, or a scheduled change (a downgrade) that
    switched in: synced as for any change; and a cancellation set in Stripe itself (the
    portal) schedules the group's default plan, as ours do."""
    if customer is None:
        return
    sync_subscription(event.object_id, stripe, event_created=event.created)
    default_follows_cancel(event.object_id, stripe)
