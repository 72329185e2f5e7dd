"""A Stripe subscription as our services read it (re-read from Stripe, never trusted from
an event's payload), and the changes billing.update asks of one. Plain data, no `stripe`
import: the gateway builds these from Stripe's objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from billing.stripe_api.payments import PURCHASE_KEY, Proration

# Statuses after which a Stripe subscription never bills again.
ENDED = frozenset({"canceled", "incomplete_expired"})


@dataclass(frozen=True)
class SubscriptionItem:
    price_id: str
    # Packages of the price's billing units (1 for a base price).
    quantity: int
    # Stripe's id of the item (si_...).
    id: str = ""


@dataclass(frozen=True)
class UpcomingPhase:
    """A phase of the subscription's schedule still to come: what Stripe will bill from
    `start` (Unix seconds) on."""

    start: int
    price_ids: frozenset[str]
    # Our purchase the phase was scheduled for (its metadata), if any.
    purchase_id: str | None = None


@dataclass(frozen=True)
class StripeSubscription:
    """The parts of a Stripe subscription billing acts on. Times are Unix seconds."""

    id: str
    customer: str
    status: str
    items: tuple[SubscriptionItem, ...]
    cancel_at_period_end: bool = False
    cancel_at: int | None = None
    canceled_at: int | None = None
    current_period_start: int | None = None
    current_period_end: int | None = None
    trial_end: int | None = None
    # Our purchase the subscription was created for (its metadata), if any.
    purchase_id: str | None = None
    # The subscription schedule driving it (a change at the period end), if any.
    schedule_id: str | None = None
    # The schedule's phases after the current one; read only when the schedule was
    # expanded (the audit's listing), else empty.
    upcoming_phases: tuple[UpcomingPhase, ...] = ()
    # Collected by invoice (`send_invoice`), active at once, and its first invoice not paid
    # yet: a purchase still waiting for the customer. Known only when the latest invoice
    # was expanded (the audit's listing), else False.
    awaiting_first_invoice: bool = False
    # Its latest invoice, and whether a change waits for that invoice to be paid (Stripe's
    # pending update: an upgrade or new quantities whose payment did not go through).
    latest_invoice: str | None = None
    pending_update: bool = False

    @property
    def paid_for(self) -> bool:
        """In force in Stripe: paid, or in a trial that needed no payment."""
        return self.status in ("active", "trialing", "past_due")

    @property
    def ended(self) -> bool:
        return self.status in ENDED

    @property
    def canceling(self) -> bool:
        """Set to end at a moment still to come (at the period end, or at `cancel_at`)."""
        return not self.ended and (self.cancel_at_period_end or self.cancel_at is not None)

    @property
    def price_ids(self) -> frozenset[str]:
        return frozenset(item.price_id for item in self.items)

    def item_ids(self, prices: frozenset[str]) -> tuple[str, ...]:
        """The ids of the items billing these prices, in Stripe's order."""
        return tuple(item.id for item in self.items if item.price_id in prices and item.id)


@dataclass(frozen=True)
class QuantityChange:
    """New quantities for some items of a subscription (prepaid packages), prorated as
    asked and applied only once their invoice is paid (Stripe's pending updates)."""

    subscription_id: str
    # price id -> packages wanted
    quantities: dict[str, int]
    proration: Proration
    # Our own id for this change: the Stripe calls made for it are keyed by it.
    change_id: str


def subscription_from(fields: dict[str, Any]) -> StripeSubscription:
    """Our reading of Stripe's subscription object (API version 2026-10-28: billing
    periods live on the items)."""
    data = (fields.get("items") or {}).get("data") or []
    items = tuple(
        SubscriptionItem(
            price_id=str(_id(item["price"])),
            quantity=int(item.get("quantity") or 0),
            id=str(item.get("id") or ""),
        )
        for item in data
    )
    first = data[0] if data else {}
    customer = fields.get("customer")
    return StripeSubscription(
        id=str(fields["id"]),
        customer=str(_id(customer)),
        status=str(fields.get("status")),
        items=items,
        cancel_at_period_end=bool(fields.get("cancel_at_period_end")),
        cancel_at=fields.get("cancel_at"),
        canceled_at=fields.get("canceled_at"),
        current_period_start=first.get("current_period_start"),
        current_period_end=first.get("current_period_end"),
        trial_end=fields.get("trial_end"),
        purchase_id=(fields.get("metadata") or {}).get(PURCHASE_KEY),
        schedule_id=_id(fields.get("schedule")),
        upcoming_phases=_upcoming(fields.get("schedule")),
        awaiting_first_invoice=_awaiting_first_invoice(fields),
        latest_invoice=_id(fields.get("latest_invoice")),
        pending_update=bool(fields.get("pending_update")),
    )


def _awaiting_first_invoice(fields: dict[str, Any]) -> bool:
    latest = fields.get("latest_invoice")
    return (
        fields.get("collection_method") == "send_invoice"
        and isinstance(latest, dict)
        and latest.get("billing_reason") == "subscription_create"
        and latest.get("status") in ("draft", "open")
    )


def _upcoming(schedule: Any) -> tuple[UpcomingPhase, ...]:
    """The phases of an expanded, still open schedule that start after its current one."""
    if not isinstance(schedule, dict) or schedule.get("status") not in ("not_started", "active"):
        return ()
    current = schedule.get("current_phase") or {}
    after = int(current.get("end_date") or 0)
    return tuple(
        UpcomingPhase(
            start=int(phase["start_date"]),
            price_ids=frozenset(str(_id(item["price"])) for item in phase.get("items") or []),
            purchase_id=(phase.get("metadata") or {}).get(PURCHASE_KEY),
        )
        for phase in schedule.get("phases") or []
        if int(phase.get("start_date") or 0) >= after
    )


def _id(value: Any) -> Any:
    return value["id"] if isinstance(value, dict) else value
