"""Realistic webhook delivery: after the answer, in a seeded order within a window, some
events twice, some late, failures tried again, every event delivered in the end, and
`settle` returns only then."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import stripe

from local.stack import StackConfig
from local.stripe_emulator import StripeEmulator
from local.stripe_emulator.realistic import Realism
from tests.emulator.conftest import CLASSIC_BILLING, WEBHOOK_SECRET
from tests.emulator.receiver import WebhookReceiver
from tests.stripe_clocks import advance

CALLS = 15


@pytest.fixture
def realistic(emulator: StripeEmulator, receiver: WebhookReceiver) -> Iterator[StripeEmulator]:
    """The module's emulator delivering realistically (seed 7) to `receiver`, ordered again
    after (what is still queued is delivered first, while the receiver still runs)."""
    emulator.set_delivery(Realism(seed=7))
    emulator.reset()
    yield emulator
    emulator.set_delivery(None)


def make_events(client: stripe.StripeClient) -> list[str]:
    """Emits 2 * CALLS events, one request at a time; their ids in emission order."""
    for number in range(CALLS):
        customer = client.v1.customers.create({"email": f"c{number}@example.com"})
        client.v1.customers.update(customer.id, {"name": f"Customer {number}"})
    return [e.id for e in reversed(client.v1.events.list({"limit": 100}).data)]


def received_order(receiver: WebhookReceiver, emitted: list[str]) -> list[int]:
    """What the receiver got, as positions in the emission order."""
    position = {event_id: n for n, event_id in enumerate(emitted)}
    return [position[event["id"]] for event in receiver.events()]


def test_delivery_waits_for_the_answer_and_settle_delivers_every_event(
    realistic: StripeEmulator, client: stripe.StripeClient, receiver: WebhookReceiver
) -> None:
    emitted = make_events(client)

    # Nothing is delivered before someone settles (the suite's setting: no quiet time).
    assert receiver.received == []
    realistic.settle()

    order = received_order(receiver, emitted)
    assert sorted(set(order)) == list(range(2 * CALLS)), "every event, at least once"
    assert all(e.pending_webhooks == 0 for e in client.v1.events.list({"limit": 100}).data)
    assert realistic.pending_deliveries() == 0
    assert realistic.undeliverable() == []


def test_events_arrive_shuffled_some_twice_and_some_after_later_ones(
    realistic: StripeEmulator, client: stripe.StripeClient, receiver: WebhookReceiver
) -> None:
    emitted = make_events(client)
    realistic.settle()

    order = received_order(receiver, emitted)
    twice = {n for n in order if order.count(n) > 1}
    assert twice, "some events are delivered twice"
    assert len(order) == 2 * CALLS + len(twice)
    firsts = sorted(set(order), key=order.index)
    assert firsts != sorted(firsts), "not in emission order"
    window = realistic.delivery.window if realistic.delivery else 0
    assert any(later > n + window for i, n in enumerate(firsts) for later in firsts[:i]), (
        "some event is delivered after events emitted more than a window after it"
    )
    copies = [d["copy"] for d in realistic.deliveries()]
    assert copies.count("duplicate") == len(order) - len(set(order))


def test_the_same_seed_gives_the_same_deliveries_and_another_seed_others(
    realistic: StripeEmulator, client: stripe.StripeClient, receiver: WebhookReceiver
) -> None:
    def run(seed: int) -> tuple[list[int], list[tuple[float, bool, bool]]]:
        realistic.set_delivery(Realism(seed=seed))
        realistic.reset()
        receiver.received.clear()
        emitted = make_events(client)
        realistic.settle()
        plan = [(p["place"], p["late"], p["duplicated"]) for p in realistic.planned_deliveries()]
        return received_order(receiver, emitted), plan

    first = run(7)
    assert run(7) == first
    assert run(8) != first


def test_a_failed_delivery_is_tried_again_until_it_succeeds(
    realistic: StripeEmulator, client: stripe.StripeClient, receiver: WebhookReceiver
) -> None:
    receiver.fail_next(3)
    client.v1.customers.create({"email": "retried@example.com"})

    realistic.settle()

    (event,) = client.v1.events.list().data
    attempts = realistic.deliveries()
    assert [d["succeeded"] for d in attempts[:3]] == [False, False, False]
    assert "retry" in [d["copy"] for d in attempts]
    assert attempts[-1]["succeeded"] is True
    assert event.pending_webhooks == 0
    assert realistic.undeliverable() == []


def test_settle_waits_for_a_slow_receiver_and_names_the_seed_when_it_gives_up(
    realistic: StripeEmulator, client: stripe.StripeClient, receiver: WebhookReceiver
) -> None:
    gate = threading.Event()
    receiver.on_event = lambda event: gate.wait(60) and None
    client.v1.customers.create({"email": "slow@example.com"})

    with pytest.raises(TimeoutError, match="seed 7"):
        realistic.settle(timeout_s=0.3)  # the receiver holds the delivery: cannot settle

    gate.set()
    realistic.settle()
    assert [e["type"] for e in receiver.events()][:1] == ["customer.created"]
    assert realistic.pending_deliveries() == 0


def test_a_test_clock_waits_for_its_renewal_webhooks_before_it_finalizes(
    realistic: StripeEmulator,
    client: stripe.StripeClient,
    receiver: WebhookReceiver,
    prices: dict[str, str],
) -> None:
    """As in ordered mode, an invoice.created handler adds its invoice items to the renewal
    draft before the clock finalizes it: the clock delivers what is queued first."""
    clock = client.v1.test_helpers.test_clocks.create({"frozen_time": 1_780_000_000})
    card = "pm_card_visa"
    customer = client.v1.customers.create(
        {
            "test_clock": clock.id,
            "payment_method": card,
            "invoice_settings": {"default_payment_method": card},
        }
    )
    subscription = client.v1.subscriptions.create(
        {
            "billing_mode": CLASSIC_BILLING,
            "customer": customer.id,
            "items": [{"price": prices["basic"]}],
        }
    )

    def add_usage(event: dict[str, Any]) -> None:
        invoice = event["data"]["object"]
        if event["type"] == "invoice.created" and invoice["billing_reason"] == "subscription_cycle":
            client.v1.invoice_items.create(
                {
                    "customer": customer.id,
                    "invoice": invoice["id"],
                    "amount": 250,
                    "currency": "usd",
                },
                # A duplicate delivery adds nothing twice.
                {"idempotency_key": f"usage-{invoice['id']}"},
            )

    receiver.on_event = add_usage
    end = subscription["items"].data[0].current_period_end
    advance(client, clock.id, end + 86400)

    latest = client.v1.subscriptions.retrieve(subscription.id).latest_invoice
    renewal = client.v1.invoices.retrieve(latest)
    assert (renewal.status, renewal.amount_paid) == ("paid", 1250)


def test_the_control_api_switches_the_mode_and_settles(
    emulator: StripeEmulator, receiver: WebhookReceiver
) -> None:
    try:
        switched = httpx.post(
            f"{emulator.url}/_emulator/delivery", json={"mode": "realistic", "seed": 11}
        )
        assert switched.json()["mode"] == "realistic"
        assert httpx.get(f"{emulator.url}/_emulator/delivery").json()["seed"] == 11
        client = stripe.StripeClient("sk_test_x", base_addresses={"api": emulator.url})
        client.v1.customers.create({})
        assert receiver.received == []

        settled = httpx.post(f"{emulator.url}/_emulator/settle", json={})

        assert settled.json() == {"settled": True, "undeliverable": []}
        assert receiver.types()[:1] == ["customer.created"]
        plan = httpx.get(f"{emulator.url}/_emulator/delivery/plan").json()["data"]
        assert [p["event_type"] for p in plan] == ["customer.created"]
        refused = httpx.post(f"{emulator.url}/_emulator/delivery", json={"mode": "shuffled"})
        assert refused.status_code == 400
    finally:
        httpx.post(f"{emulator.url}/_emulator/delivery", json={"mode": "ordered"})
    assert httpx.get(f"{emulator.url}/_emulator/delivery").json() == {"mode": "ordered"}


def test_the_stack_takes_the_mode_and_seed_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STRIPE_WEBHOOK_DELIVERY", "realistic")
    monkeypatch.setenv("STRIPE_WEBHOOK_SEED", "42")
    config = StackConfig.from_env()
    assert (config.webhook_delivery, config.webhook_seed) == ("realistic", 42)

    monkeypatch.setenv("STRIPE_WEBHOOK_DELIVERY", "sometimes")
    with pytest.raises(ValueError, match="webhook_delivery"):
        StackConfig.from_env()
    monkeypatch.setenv("STRIPE_WEBHOOK_DELIVERY", "realistic")
    monkeypatch.setenv("STRIPE_WEBHOOK_SEED", "forty-two")
    with pytest.raises(ValueError, match="STRIPE_WEBHOOK_SEED"):
        StackConfig.from_env()


def test_the_receivers_secret_signs_realistic_deliveries(
    realistic: StripeEmulator, client: stripe.StripeClient, receiver: WebhookReceiver
) -> None:
    client.v1.customers.create({})
    realistic.settle()
    for received in receiver.received:
        stripe.Webhook.construct_event(
            received.body, received.headers["Stripe-Signature"], WEBHOOK_SECRET
        )


def test_with_a_quiet_time_deliveries_start_on_their_own(
    realistic: StripeEmulator, client: stripe.StripeClient, receiver: WebhookReceiver
) -> None:
    """`make dev`: nobody settles, so what no request follows for `quiet_s` is delivered."""
    realistic.set_delivery(Realism(seed=7, quiet_s=0.05))
    client.v1.customers.create({"email": "dev@example.com"})

    arrived = threading.Event()
    receiver.on_event = lambda event: arrived.set()
    if not receiver.received:
        assert arrived.wait(30), "delivered without anyone settling"
    assert receiver.types()[0] == "customer.created"


def test_settle_waits_for_a_clock_advancing_across_a_switch_of_mode(
    emulator: StripeEmulator,
    client: stripe.StripeClient,
    receiver: WebhookReceiver,
    prices: dict[str, str],
) -> None:
    """A clock advance still running in the background when the mode changes (the suite
    switches between tests) is waited for by the new mode's settle, and only once."""
    clock = client.v1.test_helpers.test_clocks.create({"frozen_time": 1_780_000_000})
    card = "pm_card_visa"
    customer = client.v1.customers.create(
        {
            "test_clock": clock.id,
            "payment_method": card,
            "invoice_settings": {"default_payment_method": card},
        }
    )
    subscription = client.v1.subscriptions.create(
        {
            "billing_mode": CLASSIC_BILLING,
            "customer": customer.id,
            "items": [{"price": prices["basic"]}],
        }
    )
    gate = threading.Event()
    receiver.on_event = lambda event: (
        gate.wait(60) and None if event["type"] == "invoice.created" else None
    )
    end = subscription["items"].data[0].current_period_end
    try:
        advancing = client.v1.test_helpers.test_clocks.advance(
            clock.id, {"frozen_time": end + 86400}
        )
        assert advancing.status == "advancing"  # held by the receiver, in ordered mode
        emulator.set_delivery(Realism(seed=7))
    finally:
        gate.set()
    try:
        emulator.settle(timeout_s=60)
        assert client.v1.test_helpers.test_clocks.retrieve(clock.id).status == "ready"
        emulator.settle(timeout_s=60)  # nothing left: the advance was counted out once
    finally:
        emulator.set_delivery(None)
