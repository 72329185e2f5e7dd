"""The Idempotency-Key contract every mutating route shares, decided here and only here.

The first call's final answer is stored and replayed to retries with the same key and body;
the same key with another body is a conflict; a key whose first call still runs is "in
progress" (409), whichever route holds it. Only final answers are kept: an answer that says
"try again" (a 5xx, 423, 429 or a key in progress) frees the key so the retry runs for real.
"""

import hashlib
from typing import Any, NamedTuple

from billing import clock
from billing.config import settings
from billing.domain.errors import IdempotencyKeyConflict, IdempotencyKeyInProgress
from billing.store import idempotency
from billing.store.idempotency import StoredRequest

# Answers that ask the caller to retry: never replayed.
_RETRY_STATUSES = frozenset({423, 429})


class Replay(NamedTuple):
    status: int
    body: str


def fingerprint(route: str, canonical_body: bytes) -> str:
    return hashlib.sha256(route.encode() + b"\n" + canonical_body).hexdigest()


def replay_of(held: StoredRequest, request_fingerprint: str) -> "Replay":
    """What a request gets when its key is held by `held`: the first answer, or an error."""
    if held.status != idempotency.COMPLETED or held.response_status is None:
        raise IdempotencyKeyInProgress  # whatever it was sent with: it has no answer yet
    if held.fingerprint != request_fingerprint:
        raise IdempotencyKeyConflict
    return Replay(held.response_status, held.response_body or "")


def begin(key: str, request_fingerprint: str) -> Replay | None:
    """Takes the key for this request, or returns the answer to replay."""
    configured = settings()
    held = idempotency.try_lock(
        key,
        request_fingerprint,
        now_ms=clock.now_ms(),
        lock_ms=configured.idempotency_lock_seconds * 1000,
        ttl_s=configured.idempotency_ttl_seconds,
    )
    return None if held is None else replay_of(held, request_fingerprint)


def is_final(status: int, code: str | None = None) -> bool:
    return status < 500 and status not in _RETRY_STATUSES and code != IdempotencyKeyInProgress.code


def finish(key: str, request_fingerprint: str, status: int, body: str, code: str | None) -> None:
    """Keeps a final answer for the retries; frees the key after any other."""
    if is_final(status, code):
        idempotency.complete(key, request_fingerprint, status, body)
    else:
        idempotency.release(key, request_fingerprint)


def answer_in_transaction(key: str, request_fingerprint: str, body: str) -> dict[str, Any]:
    """The write that keeps a 200 answer under its key, for the transaction doing the work:
    the work and its answer are kept together or not at all (track, check with send_event).
    If the key is held, the transaction is refused and hands back the holder: `replay_of`."""
    return idempotency.answer_put(
        key,
        request_fingerprint,
        200,
        body,
        now_ms=clock.now_ms(),
        ttl_s=settings().idempotency_ttl_seconds,
    )


def first_answer(key: str, request_fingerprint: str) -> Replay | None:
    """For a request that changed nothing (a denied check): the first answer under its key,
    if a first call kept one, so a retry never contradicts it."""
    held = idempotency.held(key, clock.now_ms())
    return None if held is None else replay_of(held, request_fingerprint)
