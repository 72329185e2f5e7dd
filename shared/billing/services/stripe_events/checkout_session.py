"""Checkout Session events.

Both work from the purchase the session names (its metadata), whose own customer is the one
served: a purchase paid for is granted or refunded even if the Stripe customer's link to ours
changed since the session was made, so these handlers do not look at the resolved customer.
"""

from __future__ import annotations

from billing.domain.customers import Customer
from billing.services.billing.purchases import drop_pending, grant_purchase, refund_if_stale
from billing.services.billing.setup_payment import card_saved
from billing.services.billing.subscription_sync import sync_subscription
from billing.services.stripe_events.command import StripeEventCommand
from billing.stripe_api import StripeFactory


def completed(event: StripeEventCommand, customer: Customer | None, stripe: StripeFactory) -> None:
    """checkout.session.completed: the customer paid on Stripe's page; grant what it bought.
    In setup mode the customer saved a card (billing.setup_payment): it becomes the default,
    and the plan the setup asked for is attached with it."""
    # A session's mode never changes, so the event's snapshot of it can be trusted.
    if event.payload_object.get("mode") == "setup":
        card_saved(event.object_id, stripe)
        return
    # Re-read: the event may be stale, and only a session Stripe calls paid grants anything
    # (a delayed payment method completes the session before the money arrives).
    paid_for = stripe().checkout.paid_for(event.object_id)
    if paid_for is None or paid_for.purchase_id is None or not paid_for.paid:
        return
    granted = grant_purchase(paid_for.purchase_id, paid_for.subscription_id)
    if not granted and paid_for.subscription_id is None:
        # A one-off purchase paid after its attempt was closed (or went stale) is given
        # back; a subscription's first invoice does this for its own (invoice.paid).
        refund_if_stale(
            paid_for.purchase_id, None, None, stripe, checkout_session_id=event.object_id
        )
    if paid_for.subscription_id is not None:
        # Converge: our copy takes the subscription as Stripe bills it (its items).
        sync_subscription(paid_for.subscription_id, stripe, refuse_early=False)


def expired(event: StripeEventCommand, customer: Customer | None, stripe: StripeFactory) -> None:
    """checkout.session.expired: nobody paid on the Checkout page in time; the purchase that
    waited for it is dropped (unless it was granted meanwhile)."""
    session = stripe().checkout.state(event.object_id)
    if session is None or session.status != "expired":
        return
    if session.purchase_id is not None:
        drop_pending(session.purchase_id)
