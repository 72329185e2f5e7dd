"""The application events' outbox sweeper, locally: EventBridge runs it every minute in AWS;
here a thread runs the template's sweeper function whenever an event has waited in the
outbox longer than OUTBOX_MIN_AGE_S (the stack sets 2 s), and `settle` waits for it.

Whether anything waits is asked with the stack's own DynamoDB client: the billing layer's
client makes only the calls the sweeper itself makes, when there is something to send (the
fault matrix counts that client's calls as an operation's steps)."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from typing import Any

import boto3

from local.background import Holdable
from local.gateway import FunctionPool
from local.template import Route, scheduled

FUNCTION = "AppEventsSweeperFunction"
# How often the thread looks into the outbox (one Query).
LOOK_EVERY_S = 0.25


class OutboxSweeper(Holdable):
    """Held (`held`), it neither looks nor sweeps: a test pointing the billing layer's
    settings at another table must not have them read meanwhile by this thread."""

    def __init__(self, template: dict[str, Any], dynamodb_url: str) -> None:
        super().__init__()
        route: Route = next(r for r in scheduled(template) if r.function == FUNCTION)
        self._pool = FunctionPool(route)
        self._dynamodb = boto3.client("dynamodb", endpoint_url=dynamodb_url)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.invocations = 0

    def start(self) -> OutboxSweeper:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def waiting(self, older_than_s: float = 0) -> bool:
        """Whether an event waits in the outbox (for longer than `older_than_s`)."""
        from billing.store import outbox

        kept_before = int((time.time() - older_than_s) * 1000) + 1
        return bool(outbox.waiting(kept_before, 1, dynamodb=self._dynamodb))

    def wait_until_empty(self, timeout_s: float) -> bool:
        """Waits until the outbox is empty (the thread sends what waits); True if it had
        anything in it. Raises TimeoutError past `timeout_s`."""
        if not self.waiting():
            return False
        deadline = time.monotonic() + timeout_s
        while self.waiting():
            if time.monotonic() > deadline:
                raise TimeoutError("the outbox still holds application events")
            time.sleep(0.05)
        return True

    def _run(self) -> None:
        while not self._stop.wait(LOOK_EVERY_S):
            min_age_s = float(os.environ.get("OUTBOX_MIN_AGE_S", "60"))
            # A failed run (or look) is as a failed scheduled run in AWS: the next one retries.
            with self.round_of_work() as free, contextlib.suppress(Exception):
                if free and self.waiting(min_age_s):
                    self.invocations += 1
                    self._pool.invoke({"source": "aws.events", "detail-type": "Scheduled Event"})
