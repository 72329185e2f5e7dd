"""A test clock's advance answers `advancing` at once and is `ready` once all is replayed."""

import threading

import pytest
import stripe

from tests.emulator.conftest import CLASSIC_BILLING
from tests.stripe_clocks import wait_until_ready

DAY = 86400
START = 1_780_000_000


def _on_clock(client, prices):
    clock = client.v1.test_helpers.test_clocks.create({"frozen_time": START})
    customer = client.v1.customers.create(
        {
            "test_clock": clock.id,
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )
    sub = client.v1.subscriptions.create(
        {
            "billing_mode": CLASSIC_BILLING,
            "customer": customer.id,
            "items": [{"price": prices["basic"]}],
        }
    )
    return clock, sub


def test_advance_answers_advancing_then_becomes_ready(client, emulator, prices, receiver):
    clock, sub = _on_clock(client, prices)
    end = sub["items"].data[0].current_period_end
    gate = threading.Event()
    receiver.on_event = lambda event: gate.wait(60) if event["type"] == "invoice.created" else None
    try:
        answered = client.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": end + DAY})
        assert answered.status == "advancing"
        assert answered.status_details.advancing.target_frozen_time == end + DAY
        assert answered.frozen_time == START
        # While it advances (held by the webhook receiver), another advance is refused.
        with pytest.raises(stripe.InvalidRequestError) as busy:
            client.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": end + 2 * DAY})
        assert busy.value.code == "test_clock_advancing"
    finally:
        gate.set()
    ready = wait_until_ready(client, clock.id)
    assert (ready.status, ready.frozen_time) == ("ready", end + DAY)
    renewed = client.v1.subscriptions.retrieve(sub.id)
    assert renewed["items"].data[0].current_period_start == end
    kinds = [e["type"] for e in emulator.events() if e["type"].startswith("test_helpers")]
    assert kinds == [
        "test_helpers.test_clock.created",
        "test_helpers.test_clock.advancing",
        "test_helpers.test_clock.ready",
    ]
