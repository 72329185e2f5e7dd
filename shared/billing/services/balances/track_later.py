"""balances.track with `async: true`: queue the use and answer at once (202).

No DynamoDB read and no contended write on the request path: the worker applies queued uses
in batches. The event id is fixed here, so the worker applies each use once however often
SQS delivers it. With an Idempotency-Key the message is kept with the answer, and a retry
sends the very same message again: if the first send got through, the worker skips the copy.
"""

from __future__ import annotations

from billing import clock, track_queue
from billing.config import settings
from billing.domain.errors import InvalidRequest
from billing.observability import current_correlation_id
from billing.services.balances.track import Usage, catalog_of, features_used
from billing.services.idempotency import replay_of
from billing.store import idempotency

# SQS takes messages of up to 256 KiB.
MOST_MESSAGE_BYTES = 256 * 1024


def track_later(use: Usage, answer: str) -> str | None:
    """Queues `use`. Returns None, or the first answer when this is a retry of a key."""
    features_used(use, catalog_of(use))  # unknown: 404, not queued
    now = clock.now_ms()
    message = track_queue.QueuedUse(
        event_id=clock.new_internal_id("evt"),
        queued_at=now,
        customer_id=use.customer_id,
        feature_id=use.feature_id,
        event_name=use.event_name,
        value=use.value,
        properties=use.properties,
        timestamp=use.timestamp if use.timestamp is not None else now,
        overage=use.overage,
        idempotency_key=use.idempotency_key,
        correlation_id=current_correlation_id(),
    ).model_dump_json()
    if len(message.encode()) > MOST_MESSAGE_BYTES:
        raise InvalidRequest(
            "The use is too large to queue; send smaller properties or track synchronously.",
            details=[{"field": "properties", "message": "too large for the usage queue"}],
        )
    if use.idempotency_key is None:
        track_queue.send(message)
        return None
    held = idempotency.record_queued(
        use.claims,
        use.fingerprint,
        202,
        answer,
        message,
        now_ms=now,
        ttl_s=settings().idempotency_ttl_seconds,
    )
    if held is None:
        track_queue.send(message)
        return None
    first = replay_of(held, use.fingerprint)
    if held.queued_message:
        # Sent again: if the first send was lost, this one counts; else the worker skips it.
        track_queue.send(held.queued_message)
    return first.body
