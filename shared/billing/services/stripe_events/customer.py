"""Customer events: our customer follows its Stripe customer. A Stripe customer that is none
of ours changes nothing."""

from __future__ import annotations

from billing.domain.customers import Customer
from billing.services.customers.stripe_sync import (
    follow_stripe_contact_details,
    forget_deleted_stripe_customer,
)
from billing.services.stripe_events.command import StripeEventCommand
from billing.stripe_api import StripeFactory


def updated(event: StripeEventCommand, customer: Customer | None, stripe: StripeFactory) -> None:
    """customer.updated: a Stripe customer's name or email changed (in the dashboard, the
    portal, Checkout); ours follows, as Stripe has it now."""
    if customer is None:
        return
    found = stripe().customers.retrieve(event.object_id)
    if found is not None:
        follow_stripe_contact_details(found)


def deleted(event: StripeEventCommand, customer: Customer | None, stripe: StripeFactory) -> None:
    """customer.deleted: a Stripe customer was deleted (in Stripe's dashboard, or by us); the
    customer linked to it is unlinked, and gets a new one on its next billing call. Stripe
    ended its subscriptions with it: their own events end the plans they billed."""
    if customer is None:
        return
    forget_deleted_stripe_customer(event.object_id, stripe)
