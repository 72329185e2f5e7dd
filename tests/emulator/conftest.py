"""A running emulator per test module, with its state cleared before every test."""

from collections.abc import Iterator

import pytest
import stripe

from local.stripe_emulator import StripeEmulator


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
