"""customers.advance_test_clock: the request and its answer."""

from __future__ import annotations

from typing import Literal

from billing.api.wire.common import EpochMs, Id, WireRequest, WireResponse
from billing.services.customers.test_clock import AdvancedClock, AdvanceTestClock


class AdvanceTestClockRequest(WireRequest):
    customer_id: Id
    frozen_time: EpochMs

    def command(self) -> AdvanceTestClock:
        return AdvanceTestClock(self.customer_id, self.frozen_time)


class AdvanceTestClockResponse(WireResponse):
    customer_id: str
    frozen_time: int
    status: Literal["advancing", "internal_failure", "ready"] | str


def test_clock_response(clock: AdvancedClock) -> AdvanceTestClockResponse:
    return AdvanceTestClockResponse(
        customer_id=clock.customer_id, frozen_time=clock.frozen_time, status=clock.status
    )
