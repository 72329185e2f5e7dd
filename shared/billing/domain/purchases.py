"""A purchase: what a customer is asked to pay for, and what it gets once Stripe says paid.

A purchase is keyed by what is bought, never by the request that asked for it: the customer
(its internal id, so a customer re-created under the same id starts afresh), the slot the
plan fills (its group for a main plan, or add-on, or one-off), the plan and its version.
Each try at buying it is an attempt, numbered from 1; the purchase id names the key and the
attempt (`pur_<key>_<attempt>`), travels in the metadata of every Stripe object made for it,
and every Stripe idempotency key derives from it. So:

- the same attach retried (a timeout, a 502, a second tab, another success_url or metadata)
  finds the open attempt and reaches the same Stripe objects: the second tab gets the same
  Checkout page, made with what the first request sent;
- an attach of the same plan asking for other terms (quantities, a trial, another card),
  or after a decline, supersedes the open attempt: its Checkout Session is expired and its
  open invoice voided in Stripe, and attempt n+1 gets keys Stripe has never seen, so no
  older, different request is ever replayed;
- an attach after the attempt was granted, abandoned or refunded (the plan cancelled, the
  page left to expire) is a new attempt too.

Lifecycle, one item per attempt (the status names are the stored values):

    pending (open: the customer was asked to pay)
      -> granted (paid, and what it buys held: written exactly once, fenced on the live
         profile, in the transaction that writes what it grants)
         <-> ending (scheduled to end: its subscription is set to cancel at the period end,
             or a change away from it is scheduled then; back to granted when that is
             taken back: an uncancel, an upgrade replacing the scheduled change)
         -> ended (its subscription ended, or a newer purchase of its slot replaced it)
      -> abandoned (its Checkout Session expired, or its scheduled change was taken back)
      -> superseded (a newer attempt replaced it; its Stripe objects were closed)
      -> refunded (paid anyway after it went stale: the money went back, nothing granted)

What it bought is a subscription held (`Subscription.purchase_id` names the purchase): a
granted purchase moves on with it, in the same transaction as the holdings change, and only
the store's holdings writers move it (`store.purchase_grants.followed`), by `held_status`: so
its status is never out of step with what the customer holds.

The terms are frozen when the customer is asked to pay: the attempt keeps the price ids and
quantities it showed, and grants the plan version it was made for.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from billing.domain.holdings import Subscription
from billing.domain.plans import FreeTrial, Plan

PurchaseStatus = Literal[
    "pending", "granted", "ending", "ended", "abandoned", "superseded", "refunded"
]
# Statuses of a purchase that was paid and granted (what it bought held, or held once).
GRANTED_STATUSES: frozenset[PurchaseStatus] = frozenset({"granted", "ending", "ended"})


class PendingPurchase(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    customer_id: str
    # The customer it was made for: a customer re-created under the id gets nothing of it.
    internal_id: str
    plan_id: str
    plan_version: int
    # feature id -> packages of billing units bought up front.
    packages: dict[str, Decimal] = {}
    trial_ends_at: int | None = None
    # The subscription (of the same group) the customer leaves once this is granted.
    replaces: str | None = None
    # The plan it replaces is paid (an upgrade or downgrade of a Stripe subscription): with
    # that subscription gone, the purchase has nothing left to change.
    replaces_paid: bool = False
    created_at: int
    status: PurchaseStatus = "pending"
    attempt: int = 1
    # The terms the customer was shown (frozen with the attempt): how it is paid, the
    # Stripe prices and quantities, the trial asked for, the card charged, the proration.
    flow: str = ""
    line_items: tuple[tuple[str, int], ...] = ()
    trial: FreeTrial | None = None
    card: str | None = None
    proration: str = ""
    # What the first request of the attempt sent for the Checkout page: a second tab with
    # others gets the same page (Stripe's idempotency needs the same parameters).
    success_url: str | None = None
    metadata: dict[str, str] = {}
    # The Stripe objects made for it, to close them when it is superseded.
    checkout_session_id: str | None = None
    invoice_id: str | None = None
    # Its card payment was declined: the next attach is a new attempt.
    declined: bool = False

    @property
    def key(self) -> str:
        return key_of_id(self.id)

    def same_terms(self, other: PendingPurchase) -> bool:
        """True when `other` asks for what this attempt was made for (the request's
        success_url and metadata aside)."""
        return (
            self.plan_id,
            self.plan_version,
            self.flow,
            self.line_items,
            self.packages,
            self.trial,
            self.replaces,
            self.card,
            self.proration,
        ) == (
            other.plan_id,
            other.plan_version,
            other.flow,
            other.line_items,
            other.packages,
            other.trial,
            other.replaces,
            other.card,
            other.proration,
        )

    def reusable_for(self, asked: PendingPurchase) -> bool:
        """The open attempt answers `asked` (a retry, a second tab) rather than a new one."""
        return self.status == "pending" and not self.declined and self.same_terms(asked)


def slot_of(plan: Plan) -> str:
    """What a plan fills for a customer: its group (one main plan per group), else it is an
    add-on or a one-off purchase."""
    if plan.one_off:
        return "one_off"
    if plan.add_on:
        return "add_on"
    return f"group:{plan.group or ''}"


def purchase_key(internal_id: str, plan: Plan, named: str | None = None) -> str:
    """What is bought, as one key: the customer, the slot, the plan and its version (and,
    for a purchase made once on the caller's behalf, the name it was given)."""
    parts: list[object] = [internal_id, slot_of(plan), plan.id, plan.version]
    if named is not None:
        parts.append(named)
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]


def purchase_id(key: str, attempt: int) -> str:
    return f"pur_{key}_{attempt}"


def key_of_id(purchase_id: str) -> str:
    return purchase_id.removeprefix("pur_").rpartition("_")[0]


def attempt_of_id(purchase_id: str) -> int:
    return int(purchase_id.rpartition("_")[2])


def is_purchase_id(value: str) -> bool:
    """An id of this scheme (`pur_<32 hex>_<n>`); anything else names no purchase."""
    key, sep, attempt = value.removeprefix("pur_").rpartition("_")
    return (
        value.startswith("pur_")
        and sep == "_"
        and len(key) == 32
        and all(c in "0123456789abcdef" for c in key)
        and attempt.isdigit()
    )


def held_status(sub: Subscription, *, scheduled_away: bool = False) -> PurchaseStatus:
    """The status of the purchase that granted `sub` while `sub` is held: scheduled to end
    (`ending`) once its subscription is set to cancel at the period end or a change away
    from it is scheduled then (`scheduled_away`), else `granted` (active)."""
    if sub.canceled_at is not None or sub.expires_at is not None or scheduled_away:
        return "ending"
    return "granted"


def was_granted(status: PurchaseStatus) -> bool:
    """Whether a purchase in `status` was paid and granted (held now, or held once)."""
    return status in GRANTED_STATUSES
