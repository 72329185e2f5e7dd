"""The local stack's background threads (queue pollers, the outbox sweeper) that a test can
hold: while held, a thread starts no new round of work, and holding it waits for the round
under way to end."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Holdable:
    def __init__(self) -> None:
        self._held = threading.Event()
        # Taken by the thread for each round of work: `held` waits for it.
        self._busy = threading.Lock()

    @contextmanager
    def held(self) -> Iterator[None]:
        """No new round of work while inside."""
        self._held.set()
        with self._busy:
            pass  # from here on, the thread sees `_held` before it starts a round
        try:
            yield
        finally:
            self._held.clear()

    @contextmanager
    def round_of_work(self) -> Iterator[bool]:
        """Around one round of the thread's work: whether it may work (it is not held)."""
        with self._busy:
            yield not self._held.is_set()
