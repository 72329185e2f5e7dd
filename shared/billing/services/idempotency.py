"""The Idempotency-Key contract every mutating route shares.

The first call's answer is stored and replayed to retries with the same key and body; the
same key with another body is a conflict; a call that failed on our side frees its key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from billing import clock
from billing.config import settings
from billing.domain.errors import IdempotencyKeyConflict, IdempotencyKeyInProgress
from billing.store import idempotency


@dataclass(frozen=True)
class Replay:
    status: int
    body: str


def fingerprint(route: str, canonical_body: bytes) -> str:
    return hashlib.sha256(route.encode() + b"\n" + canonical_body).hexdigest()


def begin(key: str, request_fingerprint: str) -> Replay | None:
    """Takes the key for this request, or returns the answer to replay."""
    configured = settings()
    stored = idempotency.try_lock(
        key,
        request_fingerprint,
        now_ms=clock.now_ms(),
        lock_ms=configured.idempotency_lock_seconds * 1000,
        ttl_s=configured.idempotency_ttl_seconds,
    )
    if stored is None:
        return None
    if stored.fingerprint != request_fingerprint:
        raise IdempotencyKeyConflict
    if stored.status == idempotency.COMPLETED and stored.response_status is not None:
        return Replay(stored.response_status, stored.response_body or "")
    raise IdempotencyKeyInProgress


def finish(key: str, request_fingerprint: str, status: int, body: str) -> None:
    if status >= 500:
        idempotency.release(key, request_fingerprint)
    else:
        idempotency.complete(key, request_fingerprint, status, body)
