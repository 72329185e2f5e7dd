"""The webhook pipeline over an in-process DynamoDB (moto): each event id takes effect once,
however often and however concurrently Stripe delivers it, and a failed handler leaves the
event for Stripe's next delivery."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from billing import clock
from billing.api.errors import status_of
from billing.domain.errors import (
    CustomerNotFound,
    InvalidStripeEvent,
    StoreUnavailable,
    StripeEventFailed,
    StripeEventInProgress,
)
from billing.services.stripe_events import handlers
from billing.services.stripe_events.command import StripeEventCommand
from billing.services.stripe_events.receive import Delivery, Outcome, receive
from billing.store import stripe_events
from billing.stripe_api.gateway import StripeGateway
from tests.conftest import in_process_table
from tests.stripe_events import signed, stripe_event

SECRET = "whsec_unit_pipeline"
TYPE = "unit_test.effect"


class RecordingHandler:
    """A handler whose effect is a list of the events it ran for; it fails while told to."""

    def __init__(self) -> None:
        self.ran: list[str] = []
        self.failures_left = 0
        self.during: Any = None

    def __call__(self, event: StripeEventCommand, customer: Any, stripe: Any) -> None:
        if self.during is not None:
            self.during()
        if self.failures_left:
            self.failures_left -= 1
            raise StoreUnavailable
        self.ran.append(event.event_id)


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingHandler]:
    recording = RecordingHandler()
    with in_process_table(monkeypatch, "billing-webhooks"):
        monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", SECRET)
        monkeypatch.setitem(handlers.HANDLERS, TYPE, recording)
        yield recording


def no_stripe() -> StripeGateway:
    raise AssertionError("the pipeline itself never calls Stripe")


def deliver(payload: bytes, **signing: Any) -> Outcome:
    signature = signed(payload, SECRET, **signing)["Stripe-Signature"]
    return receive(Delivery(payload=payload, signature=signature), stripe=no_stripe)


def effect_event(event_id: str = "evt_unit_1") -> bytes:
    return stripe_event(event_id=event_id, event_type=TYPE)


def test_an_event_runs_its_handler_with_the_command_and_is_kept_completed(handler):
    seen: list[StripeEventCommand] = []
    handler.during = lambda: None
    handlers.HANDLERS[TYPE] = lambda event, customer, stripe: seen.append(event)

    assert deliver(effect_event()) is Outcome.HANDLED

    (command,) = seen
    assert (command.event_id, command.type, command.created) == ("evt_unit_1", TYPE, 1_790_000_000)
    assert (command.object_id, command.object_type, command.livemode) == (
        "ch_test_1",
        "charge",
        False,
    )
    assert command.payload_object["amount"] == 999
    stored = stripe_events.get("evt_unit_1")
    assert stored is not None
    assert (stored.status, stored.outcome, stored.attempts) == ("COMPLETED", "handled", 1)
    assert stored.raw == effect_event().decode()


def test_a_redelivered_event_answers_duplicate_and_does_nothing_twice(handler):
    assert deliver(effect_event()) is Outcome.HANDLED
    assert deliver(effect_event()) is Outcome.DUPLICATE
    assert deliver(effect_event()) is Outcome.DUPLICATE

    assert handler.ran == ["evt_unit_1"]


def test_an_event_of_a_type_without_handler_is_recorded_and_ignored(handler):
    assert deliver(stripe_event(event_id="evt_other", event_type="charge.refunded")) is (
        Outcome.IGNORED
    )
    stored = stripe_events.get("evt_other")

    assert stored is not None
    assert (stored.status, stored.outcome) == ("COMPLETED", "ignored")
    assert handler.ran == []


def test_a_failed_handler_releases_the_event_and_the_next_delivery_processes_it(handler):
    handler.failures_left = 1

    with pytest.raises(StoreUnavailable):
        deliver(effect_event())
    failed = stripe_events.get("evt_unit_1")
    assert failed is not None
    assert failed.status == "FAILED"

    assert deliver(effect_event()) is Outcome.HANDLED
    assert handler.ran == ["evt_unit_1"]
    done = stripe_events.get("evt_unit_1")
    assert done is not None
    assert (done.status, done.attempts) == ("COMPLETED", 2)


def test_a_delivery_during_another_is_refused_as_in_progress_not_acknowledged(handler):
    outcomes: list[object] = []

    def deliver_again() -> None:
        try:
            outcomes.append(deliver(effect_event()))
        except StripeEventInProgress as error:
            outcomes.append(error)

    handler.during = deliver_again  # a second delivery arrives while the first runs
    assert deliver(effect_event()) is Outcome.HANDLED

    (concurrent,) = outcomes
    assert isinstance(concurrent, StripeEventInProgress)
    assert handler.ran == ["evt_unit_1"]


def test_a_claim_left_by_a_crashed_delivery_is_taken_over_after_its_lease(handler, monkeypatch):
    stuck = stripe_events.ReceivedEvent(
        event_id="evt_unit_1",
        type=TYPE,
        created=1,
        livemode=False,
        object_id="ch_test_1",
        object_type="charge",
        raw="{}",
    )
    start = clock.now_ms()
    assert stripe_events.claim(stuck, "crashed", start, lease_ms=60_000, ttl_s=3600) is None

    with pytest.raises(StripeEventInProgress):
        deliver(effect_event())
    monkeypatch.setattr(clock, "now_ms", lambda: start + 61_000)

    assert deliver(effect_event(), at=(start + 61_000) // 1000) is Outcome.HANDLED
    assert handler.ran == ["evt_unit_1"]
    # The crashed delivery cannot overwrite the outcome of the one that took over.
    assert stripe_events.release("evt_unit_1", "crashed", "Timeout") is False


def test_a_forged_event_changes_nothing(handler):
    payload = effect_event()
    forged = signed(payload, "whsec_not_ours")["Stripe-Signature"]

    with pytest.raises(InvalidStripeEvent):
        receive(Delivery(payload=payload, signature=forged), stripe=no_stripe)

    assert stripe_events.get("evt_unit_1") is None
    assert handler.ran == []


def test_an_event_about_an_object_without_id_is_recorded_and_ignored(handler):
    payload = stripe_event(event_id="evt_balance", event_type=TYPE, obj={"object": "balance"})

    assert deliver(payload) is Outcome.IGNORED
    assert handler.ran == []


def test_a_handler_failing_with_a_client_error_answers_a_5xx_and_frees_the_event(handler):
    def missing(event: StripeEventCommand, customer: Any, stripe: Any) -> None:
        raise CustomerNotFound

    handlers.HANDLERS[TYPE] = missing
    with pytest.raises(StripeEventFailed) as failed:
        deliver(effect_event())

    assert status_of(failed.value) >= 500
    stored = stripe_events.get("evt_unit_1")
    assert stored is not None
    assert stored.status == "FAILED"
