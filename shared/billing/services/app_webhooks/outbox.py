"""The outbox's sweeper: events kept in the outbox for longer than a publishing function takes
to queue them were not queued (SQS refused, or the function stopped first). Each is sent to
the events queue again and removed; the delivery worker posts an event id once per endpoint,
so an event that was queued after all is not posted twice."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from billing import clock, sqs
from billing.config import settings
from billing.observability import logger
from billing.store import outbox

# Entries read at a time.
PAGE = 100


class Swept(NamedTuple):
    resent: int
    # How long the oldest entry still waiting after the sweep has waited (0: none waits).
    oldest_left_ms: int


def sweep(min_age_ms: int, more_time: Callable[[], bool]) -> Swept:
    """Sends again what waits in the outbox since `min_age_ms` ago, a page at a time while
    `more_time()`; stops at the first failure (SQS or the table down: the next run retries)."""
    queue_url = settings().app_events_queue_url
    if queue_url is None:
        return Swept(0, 0)
    now = clock.now_ms()
    resent = 0
    while more_time():
        found = outbox.waiting(now - min_age_ms, PAGE)
        for at, entry in enumerate(found):
            try:
                sqs.send(queue_url, entry.body)
                outbox.remove(entry)
            except Exception:
                logger.exception(
                    "the outbox could not send an application event; the next sweep tries again",
                    extra={"message_id": entry.message_id},
                )
                left = found[at:]
                return Swept(resent, now - min(e.kept_at for e in left))
            resent += 1
            logger.info(
                "an application event was sent from the outbox",
                extra={"message_id": entry.message_id},
            )
        if len(found) < PAGE:
            break
    return Swept(resent, 0)
