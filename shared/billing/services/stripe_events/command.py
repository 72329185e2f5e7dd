"""What every Stripe event handler receives: the event as a command, and the customer of ours
it is about (resolved here, once, for every handler).

See the package's docstring for the contract a handler keeps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from billing.domain.customers import Customer
from billing.store import customers
from billing.stripe_api import StripeFactory


@dataclass(frozen=True)
class StripeEventCommand:
    """One verified Stripe event, as a handler sees it."""

    event_id: str
    type: str
    # Stripe's time of the event (Unix seconds): where it sits on the object's timeline.
    created: int
    livemode: bool
    object_id: str
    # The Stripe object's kind, as its `object` field says ("checkout.session", "invoice").
    object_type: str
    # The object as the event carried it: a snapshot, possibly stale. Re-read before acting.
    payload_object: Mapping[str, Any] = field(repr=False)
    previous_attributes: Mapping[str, Any] | None = field(default=None, repr=False)


# A handler: the event, the customer of ours it is about (None: none of ours, or the object
# names no customer), and the Stripe factory.
EventHandler = Callable[[StripeEventCommand, Customer | None, StripeFactory], None]


def stripe_customer_of(event: StripeEventCommand) -> str | None:
    """The Stripe customer the event's object belongs to: the object itself for a customer
    event, else its `customer` field (an id, or the customer expanded). That field never
    changes on a subscription, an invoice or a session, so the snapshot can be trusted."""
    if event.object_type == "customer":
        return event.object_id or None
    named = event.payload_object.get("customer")
    if isinstance(named, Mapping):
        named = named.get("id")
    return named if isinstance(named, str) and named else None


def customer_behind(event: StripeEventCommand) -> Customer | None:
    """The customer of ours linked to the event's Stripe customer, or None."""
    stripe_id = stripe_customer_of(event)
    return None if stripe_id is None else customers.load_by_stripe_id(stripe_id)
