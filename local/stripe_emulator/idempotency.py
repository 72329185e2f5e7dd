"""Stripe's idempotency keys: replay the first result, reject reuse with other parameters."""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class SavedResponse:
    method: str
    path: str
    # Canonical JSON of the decoded parameters, so parameter order does not matter.
    fingerprint: str
    status: int
    body: bytes
    request_id: str


class IdempotencyCache:
    """Saved responses plus one lock per key.

    Holding a key's lock for the whole execution is what makes concurrent requests with
    the same key run one at a time: the later ones find the saved response and replay it
    instead of executing again. Real Stripe answers such a race with a 409; serialising
    is friendlier to tests and gives callers the same end state.
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._saved: dict[str, SavedResponse] = {}

    def lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def get(self, key: str) -> SavedResponse | None:
        with self._guard:
            return self._saved.get(key)

    def save(self, key: str, response: SavedResponse) -> None:
        with self._guard:
            self._saved[key] = response

    def forget(self) -> None:
        """Drops the saved responses (the locks of requests in flight stay)."""
        with self._guard:
            self._saved.clear()

    def clear(self) -> None:
        with self._guard:
            self._locks.clear()
            self._saved.clear()
