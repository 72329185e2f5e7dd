"""Advancing a Stripe test clock the way Stripe's work: the advance answers `advancing`,
the clock is `ready` once everything on the way has happened (and its webhooks went out)."""

from __future__ import annotations

import time
from typing import Any

# Generous: a loaded 2-core machine replaying months of renewals (each delivering webhooks
# to the local stack) must never trip it; a healthy advance takes well under a second.
READY_WITHIN_S = 180.0


def wait_until_ready(client: Any, clock_id: str, within_s: float = READY_WITHIN_S) -> Any:
    """Polls the clock until it is no longer `advancing`, and returns it."""
    deadline = time.monotonic() + within_s
    pause = 0.01
    while True:
        clock = client.v1.test_helpers.test_clocks.retrieve(clock_id)
        if clock.status != "advancing":
            return clock
        if time.monotonic() > deadline:
            raise AssertionError(f"test clock {clock_id} still advancing after {within_s:.0f} s")
        time.sleep(pause)
        pause = min(pause * 2, 0.25)


def advance(client: Any, clock_id: str, frozen_time: int) -> Any:
    """Advances the clock and waits until it is ready; returns the ready clock."""
    client.v1.test_helpers.test_clocks.advance(clock_id, {"frozen_time": frozen_time})
    return wait_until_ready(client, clock_id)
