"""checkout.session.expired: nobody paid on the Checkout page in time; the purchase that
waited for it is dropped (unless it was granted meanwhile)."""

from __future__ import annotations

from billing.services.billing.purchases import drop_pending
from billing.services.stripe_events.registry import StripeEventCommand, handles
from billing.stripe_api import StripeFactory
from billing.stripe_api.objects import PURCHASE_KEY


@handles("checkout.session.expired")
def on_checkout_expired(event: StripeEventCommand, stripe: StripeFactory) -> None:
    session = stripe().retrieve_object("checkout.session", event.object_id)
    if session is None or session.get("status") != "expired":
        return
    purchase_id = (session.get("metadata") or {}).get(PURCHASE_KEY)
    if purchase_id is not None:
        drop_pending(purchase_id)
