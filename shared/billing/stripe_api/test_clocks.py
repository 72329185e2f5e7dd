"""Stripe's test clocks (test mode only): each customer we create in test mode lives on a
clock of its own, which the test-clock route moves forward."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from billing.domain.errors import InvalidRequest
from billing.stripe_api.call import Refusal, once
from billing.stripe_api.objects import id_of

if TYPE_CHECKING:
    from billing.stripe_api.call import StripeCall

# How long advancing waits for the clock to be ready: most of the function's 30 s, so a
# slow replay on a busy machine still answers "ready".
_CLOCK_WAIT_S = 24.0


@dataclass(frozen=True)
class ClockState:
    """A customer's Stripe test clock after an advance was asked of it."""

    frozen_time_s: int
    # "advancing" while Stripe replays what happens on the way, then "ready".
    status: str


class TestClocks:
    __test__ = False  # not a pytest test class, whatever its name says

    def __init__(self, call: StripeCall) -> None:
        self._call = call

    def create(self, internal_id: str) -> str:
        """A new clock for one of our customers, frozen at the current minute."""
        now_s = int(time.time())
        params: Any = {"frozen_time": now_s // 60 * 60, "name": internal_id[:300]}
        # A retry within the minute gets the same clock; a later one a new (unused) clock.
        options = once("test_clock.create", internal_id, now_s // 60)
        clock = self._call(lambda: self._call.v1.test_helpers.test_clocks.create(params, options))
        return str(clock.id)

    def advance(self, stripe_customer: str, frozen_time_s: int) -> ClockState:
        """Moves the test clock of the customer to `frozen_time_s`, replaying what happens
        on the way (renewals, trial ends, failed payments); InvalidRequest without one."""
        found = self._call(lambda: self._call.v1.customers.retrieve(stripe_customer))
        clock_id = id_of(found.to_dict().get("test_clock"))
        if clock_id is None:
            raise InvalidRequest(
                "The customer's Stripe customer has no test clock.",
                details=[{"field": "customer_id", "message": "no test clock in Stripe"}],
            )
        params: Any = {"frozen_time": frozen_time_s}
        # Stripe refuses to advance a clock still advancing from an earlier call.
        self._when_settled(clock_id)
        moved = self._call.attempt(
            lambda: self._call.v1.test_helpers.test_clocks.advance(clock_id, params)
        )
        if isinstance(moved, Refusal):
            if moved.invalid_request and moved.param == "frozen_time":
                raise InvalidRequest(
                    "The test clock cannot move to that time: it only moves forward, at most "
                    "two billing periods at a time.",
                    details=[{"field": "advance_to", "message": "not a time the clock can reach"}],
                ) from moved.cause
            raise moved.error from moved.cause
        # Stripe answers "advancing" and replays renewals after: the answer reports the
        # clock once they happened (their webhooks sent), or as it is when the wait runs out.
        clock = self._when_settled(clock_id)
        return ClockState(int(clock.frozen_time), str(clock.status))

    def now_s(self, stripe_customer: str) -> int | None:
        """Stripe's "now" for the customer: its test clock's frozen time (Unix seconds),
        None when it has no test clock (then it is the wall clock's)."""
        found = self._call.retrieve("customer", stripe_customer) or {}
        clock_id = id_of(found.get("test_clock"))
        if clock_id is None:
            return None
        clock = self._when_settled(clock_id)
        return int(clock.frozen_time)

    def _when_settled(self, clock_id: str) -> Any:
        """The clock once it is no longer advancing, or as it is after `_CLOCK_WAIT_S`."""
        deadline = time.monotonic() + _CLOCK_WAIT_S
        pause = 0.02
        while True:
            clock = self._call(lambda: self._call.v1.test_helpers.test_clocks.retrieve(clock_id))
            if clock.status != "advancing" or time.monotonic() + pause > deadline:
                return clock
            time.sleep(pause)
            pause = min(pause * 2, 0.5)
