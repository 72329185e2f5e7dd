"""Retrying a read-decide-write use case when a concurrent call changed the record first."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from billing.domain.errors import BillingError, BillingInProgress

T = TypeVar("T")

ATTEMPTS = 5


def on_conflict(attempt: Callable[[], T], *, also: tuple[type[BillingError], ...] = ()) -> T:
    """Runs `attempt` again (it reloads what it reads) while it loses optimistic-locking races.

    `also` names conflicts that mean "somebody else just did it": looking again finds their
    result. After a few lost races the caller gets 423 billing_in_progress.
    """
    for _ in range(ATTEMPTS - 1):
        try:
            return attempt()
        except BillingInProgress:
            continue
        except also:
            continue
    return attempt()
