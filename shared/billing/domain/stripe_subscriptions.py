"""A Stripe subscription as billing reads it: plain data that the Stripe seam builds from
Stripe's object (re-read from Stripe, never trusted from an event's payload) and the
domain's rules (the sync, the audit) read. Times are Unix seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

# Statuses after which a Stripe subscription never bills again.
ENDED = frozenset({"canceled", "incomplete_expired"})
# An end this close to the period's end is that end (Stripe's clock may run a little ahead of
# the period boundary it ends at); Autumn allows 20 seconds for the same reading.
_PERIOD_END_SLACK_S = 60


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
    # When it ended (Unix seconds); None while it runs.
    ended_at: int | None = None

    @property
    def paid_for(self) -> bool:
        """In force in Stripe: paid, or in a trial that needed no payment."""
        return self.status in ("active", "trialing", "past_due")

    @property
    def ended(self) -> bool:
        return self.status in ENDED

    @property
    def ended_with_its_period(self) -> bool:
        """Ended when its paid period did (a cancellation at the period end, a move to a
        free plan), so that period ran its course and its usage is billed in arrears; not
        one cut short (canceled now), nor one ended with a trial (trial usage is free)."""
        if not self.ended or self.ended_at is None or self.current_period_end is None:
            return False
        in_trial = self.trial_end is not None and self.trial_end >= self.ended_at
        return not in_trial and self.ended_at >= self.current_period_end - _PERIOD_END_SLACK_S

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
