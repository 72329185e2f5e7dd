"""A running emulator per test module, with its state cleared before every test."""

from collections.abc import Iterator

import pytest

from local.stripe_emulator import StripeEmulator


@pytest.fixture(scope="module")
def emulator() -> Iterator[StripeEmulator]:
    with StripeEmulator() as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh_state(emulator: StripeEmulator) -> None:
    emulator.reset()
