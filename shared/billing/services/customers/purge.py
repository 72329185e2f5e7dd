"""Removing a deleted customer's usage events and invoices: queued when there is a purge
queue, else done at once (a stack without queues)."""

from __future__ import annotations

from collections.abc import Callable

from billing import clock, purge_queue
from billing.domain.customers import Customer
from billing.observability import current_correlation_id
from billing.purge_queue import PurgeRequest
from billing.store import leftovers


def request_purge(gone: Customer) -> None:
    # Asked for every customer, linked to Stripe now or not: its invoices were kept under
    # whatever Stripe customer it was linked to then, and the link can have changed since.
    request = PurgeRequest(
        owner=gone.internal_id, since=gone.events_since, correlation_id=current_correlation_id()
    )
    if purge_queue.configured():
        purge_queue.send(request)
    else:
        purge(request, more_time=lambda: True)


def purge(request: PurgeRequest, more_time: Callable[[], bool]) -> PurgeRequest | None:
    """Removes what it can while `more_time()`; returns the request for the rest, if any."""
    resume_at = leftovers.remove(
        request.owner, request.since, clock.now_ms(), request.resume_at, more_time
    )
    return None if resume_at is None else request.model_copy(update={"resume_at": resume_at})
