"""Records what emulators answer during a test and checks it against Stripe's types."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from local.stripe_emulator import StripeEmulator
from local.stripe_emulator.server import CONTROL_PREFIX, HttpResponse
from tests.emulator.stripe_types.conformance import published_types


class ShapeRecorder:
    """Checks what every emulator answers during one test against Stripe's types."""

    # Across the whole run (one process), for the summary line.
    totals: ClassVar[dict[str, float]] = {"answers": 0, "events": 0, "seconds": 0.0}

    def __init__(self) -> None:
        self.problems: list[str] = []
        self._emulators: dict[int, StripeEmulator] = {}
        self._lock = threading.Lock()

    def wrap(self, handle: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        def checked(
            emulator: StripeEmulator,
            method: str,
            target: str,
            headers: Mapping[str, str],
            body: bytes,
        ) -> HttpResponse:
            response = handle(emulator, method, target, headers, body)
            self._emulators[id(emulator)] = emulator
            is_json = response.headers.get("Content-Type", "application/json") == "application/json"
            if is_json and not target.startswith(CONTROL_PREFIX):
                self._check(json.loads(response.body), f"{method} {target} -> {response.status}")
            return response

        return checked

    def finish(self) -> list[str]:
        """Checks the events the emulators recorded (what webhooks deliver), then reports."""
        for emulator in list(self._emulators.values()):
            for event in emulator.events():
                self._check(event, f"event {event['id']} ({event['type']})", counter="events")
        return self.problems

    def _check(self, body: Any, where: str, counter: str = "answers") -> None:
        started = time.perf_counter()
        found = published_types().problems(body)
        with self._lock:
            self.totals[counter] += 1
            self.totals["seconds"] += time.perf_counter() - started
            self.problems.extend(f"{where}: {problem}" for problem in found)
            if found and (report := os.environ.get("STRIPE_TYPES_REPORT")):
                # Every mismatch, not only a failing test's first ones (for a bulk fix).
                with open(report, "a", encoding="utf-8") as out:
                    out.writelines(f"{where}: {problem}\n" for problem in found)
