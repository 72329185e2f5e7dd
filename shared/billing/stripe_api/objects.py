"""What every resource module reads the same way on Stripe's objects: where our ids travel
in their metadata, and the id of an expandable field."""

from __future__ import annotations

from typing import Any

# Where a purchase's id travels in the metadata of the Stripe objects that pay for it.
PURCHASE_KEY = "billing_purchase_id"
# Where a card setup's id travels in the metadata of its Checkout Session.
SETUP_KEY = "billing_setup_id"


def classic_billing() -> dict[str, str]:
    """The ``billing_mode`` every subscription of ours is created in (a subscription, or the
    one a subscription-mode Checkout Session makes). Stripe makes a new subscription
    ``flexible`` unless told otherwise; flexible prorates and invoices differently (pending
    items, proration credits), and classic is the mode our flows and the emulator our tests
    run on compute. A schedule made from a subscription, and a preview of a change to one,
    take that subscription's mode. A fresh dict each time: the params are ours to change."""
    return {"type": "classic"}


def id_of(value: Any) -> str | None:
    """The id of an expandable field of a Stripe object (an id, or the expanded object)."""
    if value is None or isinstance(value, str):
        return value
    return str(value["id"])
