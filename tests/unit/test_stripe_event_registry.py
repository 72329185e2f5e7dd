"""The registry of Stripe event handlers: one handler per type, found by type."""

from __future__ import annotations

from typing import Any

import pytest

from billing.services.stripe_events import handlers, registry

# Registered before any test swaps the registry out, so they stay in the real one.
assert handlers


def noop(event: registry.StripeEventCommand, stripe: Any) -> None:
    return None


def test_a_decorated_handler_is_the_handler_of_its_type(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(registry, "HANDLERS", dict(registry.HANDLERS))

    decorated = registry.handles("unit_test.registered")(noop)

    assert decorated is noop
    assert registry.handler_for("unit_test.registered") is noop


def test_a_second_handler_for_one_type_is_refused(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(registry, "HANDLERS", dict(registry.HANDLERS))
    registry.handles("unit_test.once")(noop)

    with pytest.raises(ValueError, match="already has a handler"):
        registry.handles("unit_test.once")(lambda event, stripe: None)


def test_a_type_nobody_handles_has_no_handler():
    assert registry.handler_for("unit_test.nobody_handles_this") is None
