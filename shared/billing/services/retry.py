"""The one retry policy: a read-decide-write use case runs again when a concurrent call
changed what it read first (optimistic locking), after a short random pause that grows."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from billing.domain.errors import BillingError, BillingInProgress

T = TypeVar("T")

ATTEMPTS = 5
# Full jitter: a pause of up to FIRST_PAUSE_S, doubling per lost race, never above MAX_PAUSE_S.
# Callers that lost together come back apart, so one of them wins the next round.
FIRST_PAUSE_S = 0.005
MAX_PAUSE_S = 0.2


def on_conflict(
    attempt: Callable[[], T],
    *,
    also: tuple[type[BillingError], ...] = (),
    attempts: int = ATTEMPTS,
) -> T:
    """Runs `attempt` again (it reloads what it reads) while it loses optimistic-locking races.

    `also` names conflicts that mean "somebody else just did it": looking again finds their
    result. After `attempts` lost races the caller gets 423 billing_in_progress.
    """
    for lost in range(attempts - 1):
        try:
            return attempt()
        except (BillingInProgress, *also):  # type: ignore[misc]
            pause(lost)
    return attempt()


def pause(lost: int) -> None:
    """The pause after the `lost`-th lost race (from 0), for loops that retry their own way."""
    # Jitter, not a secret: the plain generator is right here.
    time.sleep(random.uniform(0, min(MAX_PAUSE_S, FIRST_PAUSE_S * 2**lost)))  # noqa: S311
