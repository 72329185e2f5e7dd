"""Stripe's webhook signatures, checked by hand (HMAC-SHA256), so the webhook function need
not load the stripe SDK until a handler really calls Stripe.

Stripe sends `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]`: each `v1` is an
HMAC-SHA256 of `"<t>.<raw body>"` keyed by the endpoint's secret (several while a secret
is being rolled). A signature older than the tolerance is refused, so a captured delivery
cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from billing.domain.errors import InvalidStripeEvent

# Stripe's own libraries use five minutes.
TOLERANCE_SECONDS = 300

_SIGNATURE_FIELD = [{"field": "Stripe-Signature", "message": "a valid Stripe signature"}]


class EventObject(BaseModel):
    """The object an event is about: only what every Stripe object has is checked (a few,
    like the `balance` of `balance.available`, have no id)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: str | None = Field(default=None, min_length=1, max_length=255)
    object: str = Field(min_length=1, max_length=100)


class EventData(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    object: EventObject
    previous_attributes: dict[str, Any] | None = None


class StripeEvent(BaseModel):
    """A verified Stripe event (`object: "event"`), as Stripe's API documents it."""

    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)

    id: str = Field(pattern=r"^evt_[A-Za-z0-9_]{1,250}$")
    object: Literal["event"]
    type: str = Field(pattern=r"^[a-z_]+(\.[a-z_]+)+$", max_length=100)
    created: int = Field(ge=0)
    livemode: bool
    data: EventData


def construct_event(payload: bytes, header: str | None, secret: str, now_s: int) -> StripeEvent:
    """The event in `payload`, once its signature proves Stripe sent it in the last five
    minutes; `InvalidStripeEvent` (400) otherwise."""
    verify(payload, header, secret, now_s)
    try:
        return StripeEvent.model_validate_json(payload)
    except ValidationError:
        raise InvalidStripeEvent("The body is not a Stripe event.") from None


def verify(payload: bytes, header: str | None, secret: str, now_s: int) -> None:
    if not header:
        raise InvalidStripeEvent("The Stripe-Signature header is missing.", _SIGNATURE_FIELD)
    timestamp, signatures = _parsed(header)
    expected = _signature(payload, secret, timestamp)
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise InvalidStripeEvent(
            "The Stripe-Signature does not match the body and this endpoint's secret.",
            _SIGNATURE_FIELD,
        )
    if now_s - timestamp > TOLERANCE_SECONDS:
        raise InvalidStripeEvent(
            "The Stripe-Signature is more than five minutes old.", _SIGNATURE_FIELD
        )


def signature_header(payload: bytes, secret: str, timestamp: int) -> str:
    """The Stripe-Signature Stripe would send with `payload` at `timestamp` (for the local
    stack's samples and tests: the inverse of `verify`)."""
    return f"t={timestamp},v1={_signature(payload, secret, timestamp)}"


def _signature(payload: bytes, secret: str, timestamp: int) -> str:
    signed = str(timestamp).encode() + b"." + payload
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def _parsed(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t" and value.isascii() and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif name == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise InvalidStripeEvent(
            "The Stripe-Signature header is not `t=<timestamp>,v1=<signature>`.",
            _SIGNATURE_FIELD,
        )
    return timestamp, signatures
