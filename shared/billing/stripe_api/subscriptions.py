"""How a Stripe subscription is read (into the domain's `StripeSubscription`), and the
changes billing.update asks of one. Plain data, no `stripe` import."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from billing.domain.stripe_subscriptions import (
    StripeSubscription,
    SubscriptionItem,
    UpcomingPhase,
)
from billing.stripe_api.payments import PURCHASE_KEY, Proration


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
