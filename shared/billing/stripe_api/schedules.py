"""Stripe subscription schedules: a plan change at the period end (a downgrade), made as a
phase of the subscription's schedule, and taken back by releasing the schedule."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from billing.domain.errors import StripeUnavailable
from billing.stripe_api.call import key, once
from billing.stripe_api.objects import PURCHASE_KEY, id_of
from billing.stripe_api.payments import items_of

if TYPE_CHECKING:
    from billing.stripe_api.call import StripeCall
    from billing.stripe_api.changes import PlanChange
    from billing.stripe_api.subscriptions import Subscriptions

# How many schedules made for one purchase (each released since) a creation steps over.
_SCHEDULE_ATTEMPTS = 8


@dataclass(frozen=True)
class ScheduledSwitch:
    """A change at the period end: the Stripe subscription that switches, and when."""

    subscription_id: str
    at_s: int


class Schedules:
    def __init__(self, call: StripeCall, subscriptions: Subscriptions) -> None:
        self._call = call
        self._subscriptions = subscriptions

    def schedule_change(self, change: PlanChange) -> ScheduledSwitch:
        """Moves a paid subscription to the change's items when its period ends (a
        subscription schedule); nothing is charged now."""
        subscription = self._subscriptions.changed(change)
        schedule = self._live_schedule(subscription, change.purchase_id)
        current = schedule["current_phase"]
        kept = [
            {"price": item["price"]["id"], "quantity": item["quantity"]}
            for item in subscription["items"]["data"]
        ]
        phases: Any = [
            {"items": kept, "start_date": current["start_date"], "end_date": current["end_date"]},
            {
                "items": items_of(change.line_items),
                "iterations": 1,
                "metadata": {PURCHASE_KEY: change.purchase_id},
            },
        ]
        params: Any = {"phases": phases, "end_behavior": "release"}
        # Keyed by the schedule too: a purchase scheduled again on a new schedule (after the
        # first was released) is a new request, not a replay of the first one's.
        options = once("schedule.update", schedule["id"], change.purchase_id)
        self._call(
            lambda: self._call.v1.subscription_schedules.update(schedule["id"], params, options)
        )
        return ScheduledSwitch(str(subscription["id"]), int(current["end_date"]))

    def release(self, schedule_id: str) -> None:
        """Detaches the schedule from its subscription, which goes on billing its current
        items: the phases still to come never happen. A schedule is released once: one key
        per schedule, so a retry reaches the same Stripe request."""
        options = once("schedule.release", schedule_id)
        self._call(lambda: self._call.v1.subscription_schedules.release(schedule_id, {}, options))

    def _live_schedule(self, subscription: dict[str, Any], purchase_id: str) -> Any:
        """The schedule managing the subscription, made for the purchase if there is none.
        A creation keyed by the purchase replays an earlier one's answer: if the schedule
        it gives back was released since (the change taken back, then asked again), a new
        one is made under a key naming the released one, so a retry finds it again."""
        schedules = self._call.v1.subscription_schedules
        schedule_id = id_of(subscription.get("schedule"))
        if schedule_id is not None:
            return self._call(lambda: schedules.retrieve(schedule_id)).to_dict()
        made_with = key("schedule.create", purchase_id)
        for _attempt in range(_SCHEDULE_ATTEMPTS):
            # No billing_mode: Stripe takes no other parameter with from_subscription, and
            # the schedule runs in the subscription's mode (classic: see classic_billing).
            params: Any = {"from_subscription": subscription["id"]}
            options: Any = {"idempotency_key": made_with}
            created = self._call(partial(schedules.create, params, options))
            # A replayed answer shows the schedule as it was made: read it as it is now.
            made = str(created.id)
            now = self._call(partial(schedules.retrieve, made)).to_dict()
            if now.get("status") in ("not_started", "active"):
                return now
            made_with = key("schedule.create", purchase_id, "after", made)
        raise StripeUnavailable("Stripe kept answering with released schedules")
