"""The registry of Stripe event handlers by type, and the command each handler receives.

See the package's docstring for the contract a handler keeps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

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


EventHandler = Callable[[StripeEventCommand, StripeFactory], None]

# Filled by `@handles` as each handler module is imported (`handlers.py` imports them all).
HANDLERS: dict[str, EventHandler] = {}


def handles(event_type: str) -> Callable[[EventHandler], EventHandler]:
    """Registers the decorated function as the handler of `event_type` (one per type)."""

    def register(handler: EventHandler) -> EventHandler:
        if event_type in HANDLERS:
            raise ValueError(f"{event_type} already has a handler")
        HANDLERS[event_type] = handler
        return handler

    return register


def handler_for(event_type: str) -> EventHandler | None:
    """The handler of this type, or None for a type we do not act on."""
    from billing.services.stripe_events import handlers  # noqa: F401 (registers them all)

    return HANDLERS.get(event_type)
