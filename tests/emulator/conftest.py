"""A running emulator per test module, with its state cleared before every test."""

from collections.abc import Iterator

import pytest
import stripe

from local.stripe_emulator import StripeEmulator
from tests.emulator.receiver import WebhookReceiver


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
