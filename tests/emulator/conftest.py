"""A running emulator per test module, with its state cleared before every test."""

from collections.abc import Iterator
from typing import Any

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
