"""Reactions between resources without import cycles.

A payment intent that succeeds after authentication pays its invoice; a paid invoice
activates its subscription. The lower resource announces, the higher one listens (each
listener is registered once, when its module is imported).
"""

from __future__ import annotations

from collections.abc import Callable

from local.stripe_emulator.store import JsonObject, ObjectStore

Listener = Callable[[ObjectStore, JsonObject, int], None]

# After each attempt to pay (or authenticate) a payment intent, whatever its outcome.
PAYMENT_INTENT_ATTEMPTED = "payment_intent.attempted"
INVOICE_PAID = "invoice.paid"
INVOICE_PAYMENT_FAILED = "invoice.payment_failed"
# A test clock reached its new time (checkout sessions of its customers may expire).
TEST_CLOCK_ADVANCED = "test_clock.advanced"

_listeners: dict[str, list[Listener]] = {}


def listen(topic: str, listener: Listener) -> None:
    _listeners.setdefault(topic, []).append(listener)


def announce(store: ObjectStore, topic: str, obj: JsonObject, now: int) -> None:
    for listener in _listeners.get(topic, []):
        listener(store, obj, now)
