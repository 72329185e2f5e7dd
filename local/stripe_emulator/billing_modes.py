"""``billing_mode``: how Stripe computes a new subscription's prorations and invoices.

At this API version a subscription, a subscription schedule, a preview of a new subscription
and a Checkout Session's subscription are ``flexible`` unless ``billing_mode[type]=classic``
is sent. This emulator computes classic billing only (prorations, pending items and invoices
as classic mode makes them), so anything that would be flexible (asked for, or left to the
default) is refused with a 400 rather than billed the classic way: a caller that forgets to
ask for classic fails its tests instead of being measured against the wrong mode.
"""

from __future__ import annotations

from local.stripe_emulator import params as p
from local.stripe_emulator.errors import invalid_param, missing_param
from local.stripe_emulator.forms import Params
from local.stripe_emulator.store import JsonObject

PARAM = "billing_mode"
TYPES = ("classic", "flexible")
_FIELDS = ("flexible", "type")
_FLEXIBLE_FIELDS = ("proration_discounts",)
_PRORATION_DISCOUNTS = ("included", "itemized")


def classic() -> JsonObject:
    """The ``billing_mode`` field of a classic object (``updated_at`` is shown once the
    mode has been migrated; a classic object never was)."""
    return {"flexible": None, "type": "classic", "updated_at": None}


def of_new(params: Params, name: str = PARAM) -> JsonObject:
    """The billing mode a creation's ``params`` ask for (``name``: the parameter's full
    path, for one nested in ``subscription_details`` or ``subscription_data``), refused
    unless it is classic."""
    if PARAM not in params:
        raise invalid_param(
            name,
            f"Without {name}[type] Stripe makes this flexible (the default at this API "
            "version); this emulator models classic billing mode only: send "
            f"{name}[type]=classic.",
        )
    raw = params[PARAM]
    if not isinstance(raw, dict):
        raise invalid_param(name, f"Invalid hash: {name}", "parameter_invalid_hash")
    with p.nested(name):
        p.reject_unknown(raw, _FIELDS)
        if "type" not in raw:
            raise missing_param("type")
        kind = p.choice(raw, "type", TYPES)
        if "flexible" in raw:
            settings = p.hash_or_null(raw, "flexible") or {}
            with p.nested("flexible"):
                p.reject_unknown(settings, _FLEXIBLE_FIELDS)
                if "proration_discounts" in settings:
                    p.choice(settings, "proration_discounts", _PRORATION_DISCOUNTS)
    if "flexible" in raw and kind != "flexible":
        raise invalid_param(
            f"{name}[flexible]", f"{name}[flexible] can only be set when {name}[type] is flexible."
        )
    if kind != "classic":
        raise invalid_param(
            f"{name}[type]",
            f"{name}[type]={kind} is valid in Stripe, but this emulator models classic "
            f"billing mode only: send {name}[type]=classic.",
        )
    return classic()
