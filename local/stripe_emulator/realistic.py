"""Realistic webhook delivery: what Stripe promises, and no more.

Stripe documents that events are not delivered in the order they were made and that an
endpoint may receive one event more than once (at-least-once, with retries of failed
deliveries for days). The ordered mode (``delivery.WebhookDelivery.send``) hides what
that does to a receiver; this mode shows it:

- deliveries happen after the API call that emitted them has answered, on a thread of
  their own;
- each is given a place in a window of nearby events (``window``) drawn from the seed, so
  neighbours swap;
- some are late: moved behind events emitted after them;
- some are delivered twice (a duplicate, placed anywhere in the window);
- a failed one (non-2xx) is tried again later, behind what is queued then, up to
  ``max_attempts`` times, as Stripe's retries do.

Reproducible: the plan of the n-th delivery since the last ``reset`` (its place, whether it
is late, whether it has a duplicate) comes from one ``random.Random(seed)`` drawn in
emission order, and one thread delivers, one at a time. A test that makes the same calls
gets the same order back from the same seed.

Deliveries wait until someone wants them: ``settle`` (a test, the control API), a test
clock waiting for its renewal webhooks (``flush``), or, when ``quiet_s`` is set, a moment
when no API request has come for that long (``make dev``). Waiting for them is a wait on a
condition, never a sleep.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from local.stripe_emulator.deliveries import Delivery

ORDERED = "ordered"
REALISTIC = "realistic"
MODES = (ORDERED, REALISTIC)

# Retries of a failed delivery: Stripe's backoff is hours; locally it doubles from 50 ms.
_FIRST_RETRY_S = 0.05
_LONGEST_RETRY_S = 2.0
# Bounded, as the attempt log is: a long `make dev` session must not grow without end.
_PLANS_KEPT = 10_000


@dataclass(frozen=True)
class Realism:
    """How unruly realistic delivery is (the defaults are what the suite runs with)."""

    seed: int
    # An event may be delivered up to about this many places from where it was emitted.
    window: int = 4
    duplicate_rate: float = 0.3
    late_rate: float = 0.2
    max_attempts: int = 8
    # Deliver on one's own once no API request has come for this long (None: only when
    # asked, by `settle` or a test clock).
    quiet_s: float | None = None

    def __post_init__(self) -> None:
        if self.window < 1 or self.max_attempts < 1:
            raise ValueError("window and max_attempts must be at least 1")
        for rate in (self.duplicate_rate, self.late_rate):
            if not 0 <= rate <= 1:
                raise ValueError("rates are between 0 and 1")


@dataclass(order=True)
class _Queued:
    place: float
    number: int  # ties: the order queued
    delivery: Delivery = field(compare=False)
    copy: str = field(compare=False, default="first")  # first | duplicate | retry
    attempt: int = field(compare=False, default=1)
    ready_at: float = field(compare=False, default=0.0)


@dataclass(frozen=True)
class Planned:
    """What the seed decided for one delivery (kept for tests and for a replay)."""

    number: int
    event_id: str
    event_type: str
    endpoint: str
    place: float
    late: bool
    duplicated: bool


# Sends one delivery once; True when the endpoint answered 2xx.
Send = Callable[[Delivery, int, str], bool]


class RealisticScheduler:
    """Queues deliveries in a seeded order and delivers them on one thread."""

    def __init__(self, realism: Realism, send: Send, in_flight: int = 0) -> None:
        self.realism = realism
        self._send = send
        self._cond = threading.Condition()
        self._queue: list[_Queued] = []
        self._sending = 0
        self._in_flight = in_flight  # API requests being answered (they may emit events)
        self._last_request = time.monotonic()
        self._wanted = 0  # callers waiting in settle/flush
        self._stopped = False
        self._rng = random.Random(realism.seed)  # noqa: S311 (replayable, not secret)
        self._planned: deque[Planned] = deque(maxlen=_PLANS_KEPT)
        self._given_up: deque[Delivery] = deque(maxlen=_PLANS_KEPT)
        self._submitted = 0  # deliveries planned since the last reset
        self._queued_total = 0
        self._thread = threading.Thread(
            target=self._run, name="stripe-emulator-webhooks", daemon=True
        )
        self._thread.start()

    # -- what the server tells it ----------------------------------------------------

    def request_began(self) -> None:
        with self._cond:
            self._in_flight += 1

    def request_ended(self) -> None:
        with self._cond:
            self._in_flight -= 1
            self._last_request = time.monotonic()
            self._cond.notify_all()

    def submit(self, deliveries: Iterable[Delivery]) -> None:
        """Queues what a request emitted, each at the place the seed gives it."""
        with self._cond:
            for delivery in deliveries:
                self._plan(delivery)
            self._cond.notify_all()

    # -- waiting ---------------------------------------------------------------------

    def settle(self, timeout_s: float) -> None:
        """Returns once nothing is queued, being sent or being answered by the API (so
        every event emitted so far, its duplicates and retries, has been delivered)."""
        self._wait(lambda: self._idle() and self._in_flight == 0, timeout_s)

    def flush(self, timeout_s: float) -> None:
        """Delivers what is queued now and what that emits, without waiting for API
        requests in flight (a test clock calls it from inside its own request)."""
        self._wait(self._idle, timeout_s)

    def pending(self) -> int:
        with self._cond:
            return len(self._queue) + self._sending

    def planned(self) -> list[Planned]:
        with self._cond:
            return list(self._planned)

    def given_up(self) -> list[Delivery]:
        """Deliveries that failed ``max_attempts`` times since the last reset."""
        with self._cond:
            return list(self._given_up)

    def reset(self) -> None:
        """Drops what is queued and starts the seed's sequence again (a test's own order
        then depends only on the seed and that test's calls)."""
        with self._cond:
            self._queue.clear()
            self._planned.clear()
            self._given_up.clear()
            self._submitted = 0
            self._queued_total = 0
            self._rng = random.Random(self.realism.seed)  # noqa: S311 (replayable)
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        self._thread.join(timeout=5)

    # -- inside ----------------------------------------------------------------------

    def _plan(self, delivery: Delivery) -> None:
        realism, rng = self.realism, self._rng
        number = self._submitted
        self._submitted += 1
        # Three draws per delivery, whatever is decided, so one decision never shifts the
        # ones after it.
        jitter, lateness, duplicate = rng.random(), rng.random(), rng.random()
        late = lateness < realism.late_rate
        duplicated = duplicate < realism.duplicate_rate
        place = number + jitter * realism.window
        if late:
            place += 2 * realism.window
        self._planned.append(
            Planned(
                number,
                delivery.event_id,
                delivery.event_type,
                delivery.target.endpoint,
                place,
                late,
                duplicated,
            )
        )
        self._push(place, delivery, "first")
        if duplicated:
            # The draw is uniform below the rate: scaled, it places the copy in the window.
            spread = duplicate / realism.duplicate_rate * 2 * realism.window
            self._push(number + spread, delivery, "duplicate")

    def _push(
        self,
        place: float,
        delivery: Delivery,
        copy: str,
        attempt: int = 1,
        ready_at: float = 0.0,
    ) -> None:
        self._queue.append(_Queued(place, self._queued_total, delivery, copy, attempt, ready_at))
        self._queued_total += 1

    def _idle(self) -> bool:
        return not self._queue and self._sending == 0

    def _wait(self, done: Callable[[], bool], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            self._wanted += 1
            self._cond.notify_all()
            try:
                while not done():
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError(
                            f"webhook delivery did not settle in {timeout_s:g} s: "
                            f"{len(self._queue)} queued, {self._sending} being sent, "
                            f"{self._in_flight} API requests in flight "
                            f"(seed {self.realism.seed})"
                        )
                    self._cond.wait(left)
            finally:
                self._wanted -= 1

    def _due(self, now: float) -> bool:
        """Whether to deliver now: someone waits, or (``quiet_s``) the API went quiet."""
        if self._wanted:
            return True
        quiet = self.realism.quiet_s
        return quiet is not None and self._in_flight == 0 and now - self._last_request >= quiet

    def _next(self) -> _Queued | None:
        """The next delivery to send (under the condition), waiting until one is due."""
        while not self._stopped:
            now = time.monotonic()
            if not self._queue:
                self._cond.wait()
                continue
            if not self._due(now):
                quiet = self.realism.quiet_s
                self._cond.wait(None if quiet is None else quiet)
                continue
            ready = [q for q in self._queue if q.ready_at <= now]
            if not ready:
                self._cond.wait(min(q.ready_at for q in self._queue) - now)
                continue
            chosen = min(ready)
            self._queue.remove(chosen)
            self._sending += 1
            return chosen
        return None

    def _run(self) -> None:
        while True:
            with self._cond:
                queued = self._next()
            if queued is None:
                return
            succeeded = False
            try:
                succeeded = self._send(queued.delivery, queued.attempt, queued.copy)
            finally:
                with self._cond:
                    self._sending -= 1
                    if not succeeded:
                        self._retry_later(queued)
                    self._cond.notify_all()

    def _retry_later(self, queued: _Queued) -> None:
        if queued.attempt >= self.realism.max_attempts:
            self._given_up.append(queued.delivery)
            return
        pause = min(_FIRST_RETRY_S * 2 ** (queued.attempt - 1), _LONGEST_RETRY_S)
        self._push(
            self._submitted + self.realism.window,
            queued.delivery,
            "retry",
            queued.attempt + 1,
            time.monotonic() + pause,
        )
