"""Receiving one webhook delivery from Stripe: verify, keep, claim, dispatch, complete.

Exactly once, whatever Stripe delivers twice or at once:
- the event id is claimed (`store.stripe_events`) before any effect; a delivery of an event
  already COMPLETED answers 200 and does nothing;
- a delivery of an event another delivery is processing answers 409 (retryable) rather than
  200: a 200 would tell Stripe the event is done while its effects may still fail. Stripe
  delivers it again later, and then gets the first delivery's outcome;
- a handler that fails marks the event FAILED and the failure is answered (non-2xx), so
  Stripe's next delivery processes it; an invocation that dies mid-way leaves a claim whose
  lease runs out, after which a delivery takes it over. No event is lost, none applied twice
  (handlers keep their own writes idempotent for the crash after effects, see the package).
"""

from __future__ import annotations

import secrets
from contextlib import suppress
from dataclasses import dataclass
from enum import StrEnum

from billing import clock
from billing.config import settings, stripe_webhook_secret
from billing.domain.errors import (
    BillingError,
    StoreUnavailable,
    StripeEventFailed,
    StripeEventInProgress,
    StripeEventTooEarly,
    StripeUnavailable,
)
from billing.observability import count
from billing.services.stripe_events.command import StripeEventCommand, customer_behind
from billing.services.stripe_events.handlers import HANDLERS
from billing.store import stripe_events
from billing.stripe_api import StripeFactory
from billing.stripe_api.webhooks import StripeEvent, construct_event


@dataclass(frozen=True)
class Delivery:
    """A webhook request as Stripe sent it: the raw body and its Stripe-Signature header."""

    payload: bytes
    signature: str | None


class Outcome(StrEnum):
    HANDLED = "handled"
    IGNORED = "ignored"  # a type we do not act on: recorded, no effect
    DUPLICATE = "duplicate"  # already done by an earlier delivery


# Failures that already answer a retryable 5xx of their own.
_RETRYABLE = (StoreUnavailable, StripeUnavailable, StripeEventTooEarly)


def receive(delivery: Delivery, stripe: StripeFactory) -> Outcome:
    now_ms = clock.now_ms()
    event = construct_event(
        delivery.payload, delivery.signature, stripe_webhook_secret(), now_s=now_ms // 1000
    )
    command = _command(event)
    # Every type we act on is about an object with an id; the few objects without one
    # (`balance`) are recorded and ignored.
    handler = HANDLERS.get(command.type) if command.object_id else None
    token = secrets.token_hex(8)  # this delivery's claim: only it may complete or release it
    configured = settings()
    try:
        held = stripe_events.claim(
            _received(command, delivery.payload),
            token,
            now_ms,
            lease_ms=configured.stripe_event_lease_seconds * 1000,
            ttl_s=configured.stripe_event_ttl_seconds,
        )
    except StoreUnavailable:
        # The claim may have landed with only its answer lost: freed (it is this delivery's
        # token), so Stripe's next delivery is not turned away until the lease runs out.
        _released_if_possible(command.event_id, token)
        raise
    if held == stripe_events.COMPLETED:
        count("StripeEvents", type=command.type, outcome=Outcome.DUPLICATE.value)
        return Outcome.DUPLICATE
    if held is not None:
        raise StripeEventInProgress
    try:
        if handler is not None:
            # Resolved here, once, for every handler (a store read: inside the claim, so
            # a failure releases it).
            handler(command, customer_behind(command), stripe)
    except Exception as error:
        stripe_events.release(command.event_id, token, type(error).__name__)
        if isinstance(error, BillingError) and not isinstance(error, _RETRYABLE):
            # A handler's "not found" or "invalid" is our failure, not Stripe's: a 5xx, so
            # Stripe keeps retrying rather than reading a 4xx as a verdict on its request.
            raise StripeEventFailed from error
        raise
    outcome = Outcome.HANDLED if handler is not None else Outcome.IGNORED
    # False only if this delivery outlived its lease and another took the event over: its
    # effects are done all the same, and the other delivery completes the record.
    try:
        stripe_events.complete(command.event_id, token, outcome.value, clock.now_ms())
    except StoreUnavailable:
        # Done, but the record could not say so: freed, so Stripe's next delivery (this one
        # answers 503) runs the handlers again, which find their work done.
        _released_if_possible(command.event_id, token)
        raise
    count("StripeEvents", type=command.type, outcome=outcome.value)
    return outcome


def _released_if_possible(event_id: str, token: str) -> None:
    """Frees this delivery's claim after a store failure; if the store fails again, the
    claim's lease frees it later."""
    with suppress(StoreUnavailable):
        stripe_events.release(event_id, token, StoreUnavailable.__name__)


def _command(event: StripeEvent) -> StripeEventCommand:
    obj = event.data.object
    return StripeEventCommand(
        event_id=event.id,
        type=event.type,
        created=event.created,
        livemode=event.livemode,
        object_id=obj.id or "",
        object_type=obj.object,
        payload_object=obj.model_dump(),
        previous_attributes=event.data.previous_attributes,
    )


def _received(command: StripeEventCommand, payload: bytes) -> stripe_events.ReceivedEvent:
    return stripe_events.ReceivedEvent(
        event_id=command.event_id,
        type=command.type,
        created=command.created,
        livemode=command.livemode,
        object_id=command.object_id,
        object_type=command.object_type,
        # Verified, so the bytes Stripe signed: UTF-8 JSON (a body that is not was refused).
        raw=payload.decode(),
    )
