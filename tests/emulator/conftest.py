"""A running emulator per test module, with its state cleared before every test; every JSON
answer an emulator gives and every event it records during a test must match Stripe's
published types (tests/emulator/stripe_types), or the test fails."""

from collections.abc import Iterator
from typing import Any

import pytest
import stripe

from local.stripe_emulator import StripeEmulator
from tests.emulator.receiver import WebhookReceiver
from tests.emulator.stripe_types.conformance import published_types
from tests.emulator.stripe_types.recorder import ShapeRecorder


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
# What a test creating a subscription (or a schedule, a new subscription's preview, a
# subscription-mode Checkout Session) sends, as our code does: Stripe's default is flexible,
# which the emulator refuses (it computes classic billing only).
CLASSIC_BILLING = {"type": "classic"}


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
