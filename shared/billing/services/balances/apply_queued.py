"""The usage worker: applies queued uses (balances.track with `async: true`) in batches.

A customer's uses are decided one after another, as sequential tracks would be, then written
together: one transaction per chunk holds each grant's combined change, the events, and the
ids of the uses applied. That transaction requires the ids to be new, so a message SQS
delivers twice is applied once; a use already applied is simply dropped from the chunk.
Once written, a use that took the last of a feature tells the application, as a sync track
does (`balances.limit_reached`, its id derived from the use's, so a redelivery repeats it).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple

from billing import clock
from billing.domain.customers import Customer
from billing.domain.errors import BillingError, BillingInProgress, FeatureNotFound
from billing.domain.holdings import Grant
from billing.domain.usage import GrantChange, after_changes
from billing.observability import correlated, logger
from billing.services.balances.track import (
    TrackResult,
    Usage,
    decided,
    event_of,
    tell_limits_reached,
)
from billing.services.retry import pause
from billing.store import customers, usage
from billing.track_queue import QueuedUse

ATTEMPTS = 8
# A transaction holds at most 100 items and a condition expression at most 4 KB; an item at
# most 400 KB. A chunk of up to 100 uses, cut earlier if its items (grants, an applied-ids
# item per queue second, an event batch per event minute) or bytes would not fit.
CHUNK_USES = 100
CHUNK_ITEMS = 100
# Besides: the check that the customer is still there and not moving, and maybe the note of
# its first month of usage (`store.usage`).
FENCE_ITEMS = 2
CHUNK_BYTES = 300_000


def apply_queued(queued: list[QueuedUse]) -> set[str]:
    """Applies the uses; returns the event ids whose messages must be delivered again."""
    failed: set[str] = set()
    by_customer: dict[str, list[QueuedUse]] = {}
    for use in queued:
        by_customer.setdefault(use.customer_id, []).append(use)
    for customer_id, uses in by_customer.items():
        failed |= _apply_isolating(customer_id, uses)
    return failed


def _apply_isolating(customer_id: str, uses: list[QueuedUse]) -> set[str]:
    """Applies a customer's uses; returns those to deliver again. A use that breaks their
    write in a way no retry mends is found by applying them one at a time (uses applied
    already are recognised and skipped): it alone fails, never its customer or its batch.
    The lines logged meanwhile carry the correlation id of the request that queued the uses
    when they share one (else the worker's own)."""
    queued_by = {use.correlation_id for use in uses}
    with correlated(queued_by.pop() if len(queued_by) == 1 else None):
        return _applied_or_failed(customer_id, uses)


def _applied_or_failed(customer_id: str, uses: list[QueuedUse]) -> set[str]:
    try:
        _apply_for_customer(customer_id, uses)
    except BillingError as error:
        # Busy or contended: the customer's uses are retried together.
        logger.warning("queued uses not applied yet", extra={"reason": error.code})
        return {u.event_id for u in uses}
    except Exception:
        if len(uses) == 1:
            logger.exception("queued use not applied", extra={"event": uses[0].event_id})
            return {uses[0].event_id}
        logger.exception("queued uses failed together: applying them one at a time")
        ordered = sorted(uses, key=lambda u: (u.queued_at, u.event_id))
        return set().union(*(_apply_isolating(customer_id, [use]) for use in ordered))
    logger.debug("queued uses applied", extra={"uses": len(uses)})
    return set()


def _apply_for_customer(customer_id: str, uses: list[QueuedUse]) -> None:
    customer = customers.load(customer_id)
    if customer is None:
        # Nothing to apply them to, now or on a retry: say so and let them go.
        logger.warning("queued uses dropped: no such customer", extra={"uses": len(uses)})
        return
    ordered = sorted(uses, key=lambda u: (u.queued_at, u.event_id))
    for chunk in _chunks(ordered, len(customer.holdings.grants)):
        customer = _apply_chunk(customer, chunk)


def _apply_chunk(customer: Customer, chunk: list[QueuedUse]) -> Customer:
    pending = chunk
    for attempt in range(ATTEMPTS):
        now = clock.now_ms()
        grants, changes, events, decisions = _decide_in_order(customer, pending, now)
        try:
            usage.record_batch(
                customer,
                changes,
                events,
                {u.event_id: u.queued_at for u in pending},
                now,
            )
        except usage.AlreadyApplied as seen:
            pending = [u for u in pending if u.event_id not in seen.event_ids]
            if not pending:
                return customer
            continue
        except usage.GrantsMoved:
            # Somebody else deducted first, or the customer is moving or gone: look again.
            reloaded = customers.load(customer.id or "")
            if reloaded is None or reloaded.internal_id != customer.internal_id:
                return customer  # deleted meanwhile: nothing left to apply to
            customer = reloaded
            pause(attempt)
            continue
        for decision in decisions:
            queued = decision.use
            tell_limits_reached(
                queued.customer_id, decision.before, decision.result, queued.event_id
            )
        # As the write left it, so the next chunk does not note the first month again.
        since = usage.events_since_after(customer, [event.timestamp for event in events])
        return _holding(customer, grants)._replace(events_since=since)
    raise BillingInProgress


class _Decision(NamedTuple):
    use: QueuedUse
    # The customer as the uses before this one left it, and what this one took.
    before: Customer
    result: TrackResult


def _decide_in_order(
    customer: Customer, uses: list[QueuedUse], now: int
) -> tuple[tuple[Grant, ...], list[GrantChange], list[usage.UsageEvent], list[_Decision]]:
    """Each use decided against the grants the uses before it left; then, per grant, the
    one change that takes it from how it was read to how they leave it."""
    current = customer
    first_change: dict[str, GrantChange] = {}
    last_change: dict[str, GrantChange] = {}
    events = []
    decisions = []
    for queued in uses:
        use = _usage(queued)
        try:
            result = decided(use, current)
        except FeatureNotFound:
            # Its feature was deleted since it was queued: no retry can apply it, and holding
            # it back would hold back the customer's other uses too.
            logger.warning(
                "queued use dropped: its feature is gone", extra={"event": queued.event_id}
            )
            continue
        events.append(event_of(use, result, queued.event_id))
        decisions.append(_Decision(queued, current, result))
        for change in (c for d in result.deductions for c in d.changes):
            first_change.setdefault(change.grant.id, change)
            last_change[change.grant.id] = change
        current = _holding(current, after_changes(current.holdings.grants, result.deductions))
    combined = [
        GrantChange(
            grant=last_change[grant_id].grant,
            usage_before=first.usage_before,
            usage_after=last_change[grant_id].usage_after,
            reset_from=first.reset_from,
        )
        for grant_id, first in first_change.items()
    ]
    return current.holdings.grants, combined, events, decisions


def _usage(queued: QueuedUse) -> Usage:
    # A queued use is a track request plus its id and queue time.
    return Usage(**queued.model_dump(exclude={"event_id", "queued_at", "correlation_id"}))


def _holding(customer: Customer, grants: tuple[Grant, ...]) -> Customer:
    holdings = customer.holdings._replace(grants=grants)
    return customer._replace(holdings=holdings)


def _chunks(uses: Iterable[QueuedUse], grants: int) -> Iterator[list[QueuedUse]]:
    """Uses in order, cut where one more would overflow a transaction."""
    chunk: list[QueuedUse] = []
    queue_seconds: set[int] = set()
    event_minutes: set[int] = set()
    size = 0
    for use in uses:
        queued = use.queued_at // usage.APPLIED_SPAN_MS
        happened = use.timestamp // usage.MINUTE_MS
        bytes_ = len(use.model_dump_json())
        spans = len(queue_seconds | {queued}) + len(event_minutes | {happened})
        items = FENCE_ITEMS + grants + spans
        if chunk and (
            len(chunk) >= CHUNK_USES or items > CHUNK_ITEMS or size + bytes_ > CHUNK_BYTES
        ):
            yield chunk
            chunk, queue_seconds, event_minutes, size = [], set(), set(), 0
        chunk.append(use)
        queue_seconds.add(queued)
        event_minutes.add(happened)
        size += bytes_
    if chunk:
        yield chunk
