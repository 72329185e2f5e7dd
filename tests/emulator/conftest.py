"""A running emulator per test module, with its state cleared before every test; every JSON
answer an emulator gives and every event it records during a test must match Stripe's
published types (tests/emulator/stripe_types), or the test fails."""

import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
import stripe

from local.stripe_emulator import StripeEmulator
from local.stripe_emulator.server import CONTROL_PREFIX, HttpResponse
from tests.emulator.receiver import WebhookReceiver
from tests.emulator.stripe_types.conformance import published_types


@pytest.fixture(scope="module")
def emulator() -> Iterator[StripeEmulator]:
    with StripeEmulator() as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh_state(emulator: StripeEmulator) -> None:
    emulator.reset()


@pytest.fixture(scope="module")
def client(emulator: StripeEmulator) -> stripe.StripeClient:
    return stripe.StripeClient("sk_test_emulator", base_addresses={"api": emulator.url})


WEBHOOK_SECRET = "whsec_emulator_tests"


@pytest.fixture
def receiver(emulator: StripeEmulator) -> Iterator[WebhookReceiver]:
    """A local webhook receiver the emulator forwards every event to, signed with
    ``WEBHOOK_SECRET``."""
    running = WebhookReceiver()
    emulator.forward_webhooks(running.url, WEBHOOK_SECRET)
    yield running
    emulator.stop_forwarding_webhooks()
    running.stop()


@pytest.fixture
def prices(client: stripe.StripeClient) -> dict[str, str]:
    """Price ids of one product: `basic` (10 a month), `pro` (30 a month), `yearly` (100)."""
    product = client.v1.products.create({"name": "Pro"})

    def price(amount: int, interval: str = "month") -> str:
        params: Any = {
            "product": product.id,
            "currency": "usd",
            "unit_amount": amount,
            "recurring": {"interval": interval},
        }
        return client.v1.prices.create(params).id

    return {"basic": price(1000), "pro": price(3000), "yearly": price(10000, "year")}


class ShapeRecorder:
    """Checks what every emulator answers during one test against Stripe's types."""

    totals: dict[str, float] = {"answers": 0, "events": 0, "seconds": 0.0}

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


@pytest.fixture(autouse=True)
def _stripe_types(monkeypatch: pytest.MonkeyPatch) -> ShapeRecorder:
    recorder = ShapeRecorder()
    monkeypatch.setattr(StripeEmulator, "handle", recorder.wrap(StripeEmulator.handle))
    return recorder


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    outcome = yield
    recorder = getattr(item, "funcargs", {}).get("_stripe_types")
    if isinstance(recorder, ShapeRecorder) and (problems := recorder.finish()):
        shown = "\n  ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        pytest.fail(f"emulator answers differ from Stripe's published types:\n  {shown}{more}")
    return outcome


def pytest_terminal_summary(terminalreporter: Any) -> None:
    totals = ShapeRecorder.totals
    if totals["answers"] or totals["events"]:
        types = published_types()
        terminalreporter.write_line(
            f"Stripe types ({types.api_version}, npm stripe@{types.npm_version}): "
            f"{int(totals['answers'])} answers and {int(totals['events'])} events checked "
            f"against {len(types.checked)} types in {totals['seconds']:.1f}s"
        )
