"""What a deleted customer leaves outside its own partition, removed in the background.

Its usage events, applied-use sets and invoices live under its internal id, found only
through its profile: unreachable from the moment the profile is gone, they only take up
storage until removed here.
"""

from __future__ import annotations

from collections.abc import Callable

from billing.store import events, keys, writes


def remove(
    owner: str, since: str | None, now_ms: int, resume_at: str | None, more_time: Callable[[], bool]
) -> str | None:
    """Deletes the partitions of a customer that is gone (its events from `since`, its
    earliest month, on; then its invoices) while `more_time()`; returns the partition to
    resume at, or None when all are gone. Deleting again what is gone already is harmless,
    so a retried or redelivered request only costs reads."""
    partitions = events.partitions_since(owner, since, now_ms) if since is not None else []
    # Last, so a request queued before invoices were removed here resumes into them too.
    partitions.append(keys.invoices_pk(owner))
    start = partitions.index(resume_at) if resume_at in partitions else 0
    for pk in partitions[start:]:
        if not more_time() or not writes.delete_all(pk, more_time):
            return pk
    return None
