"""Test clocks: moving time renews, ends trials, fails renewals, cancels, switches phases."""

import httpx
import pytest
import stripe

from tests.emulator.conftest import CLASSIC_BILLING
from tests.stripe_clocks import advance

DAY = 86400
START = 1_780_000_000  # a fixed moment, so periods are the same on every run


@pytest.fixture
def clock(client):
    return client.v1.test_helpers.test_clocks.create({"frozen_time": START, "name": "billing"})


def _customer(client, clock, card="pm_card_visa"):
    params = {"test_clock": clock.id}
    if card:
        params |= {"payment_method": card, "invoice_settings": {"default_payment_method": card}}
    return client.v1.customers.create(params)


def _subscribe(client, customer, price, **extra):
    return client.v1.subscriptions.create(
        {
            "billing_mode": CLASSIC_BILLING,
            "customer": customer.id,
            "items": [{"price": price}],
            **extra,
        }
    )


def _advance(client, clock, to):
    return advance(client, clock.id, to)


def _period(sub):
    item = sub["items"].data[0]
    return item.current_period_start, item.current_period_end


def test_objects_on_the_clock_live_on_its_time(client, clock, prices):
    customer = _customer(client, clock)
    sub = _subscribe(client, customer, prices["basic"])
    assert customer.test_clock == clock.id
    assert (customer.created, sub.created, sub.start_date) == (START, START, START)
    assert _period(sub)[0] == START


def test_advancing_past_the_period_end_renews_and_charges_the_card(client, emulator, clock, prices):
    customer = _customer(client, clock)
    sub = _subscribe(client, customer, prices["basic"])
    end = _period(sub)[1]
    advanced = _advance(client, clock, end + DAY)
    assert (advanced.status, advanced.frozen_time) == ("ready", end + DAY)
    renewed = client.v1.subscriptions.retrieve(sub.id, {"expand": ["latest_invoice"]})
    assert renewed.status == "active"
    assert _period(renewed)[0] == end
    invoice = renewed.latest_invoice
    assert (invoice.billing_reason, invoice.status, invoice.amount_paid) == (
        "subscription_cycle",
        "paid",
        1000,
    )
    assert invoice.created == end
    assert len(emulator.events("invoice.paid")) == 2
    assert len(emulator.events("test_helpers.test_clock.ready")) == 1


def test_advancing_several_periods_renews_once_per_period(client, clock, prices):
    customer = _customer(client, clock)
    sub = _subscribe(client, customer, prices["basic"])
    _advance(client, clock, START + 50 * DAY)
    _advance(client, clock, START + 95 * DAY)
    invoices = client.v1.invoices.list({"subscription": sub.id}).data
    assert len(invoices) == 4
    assert all(invoice.status == "paid" for invoice in invoices)


def test_trial_end_charges_the_first_paid_invoice(client, emulator, clock, prices):
    customer = _customer(client, clock)
    sub = _subscribe(client, customer, prices["basic"], trial_period_days=7)
    assert sub.status == "trialing"
    _advance(client, clock, START + 8 * DAY)
    active = client.v1.subscriptions.retrieve(sub.id, {"expand": ["latest_invoice"]})
    assert active.status == "active"
    assert active.latest_invoice.amount_paid == 1000
    assert _period(active)[0] == START + 7 * DAY
    statuses = [
        e["data"]["previous_attributes"].get("status")
        for e in emulator.events("customer.subscription.updated")
    ]
    assert "trialing" in statuses


def test_trial_end_without_a_card_is_past_due(client, emulator, clock, prices):
    customer = _customer(client, clock, card=None)
    sub = _subscribe(client, customer, prices["basic"], trial_period_days=7)
    _advance(client, clock, START + 8 * DAY)
    after = client.v1.subscriptions.retrieve(sub.id, {"expand": ["latest_invoice"]})
    assert after.status == "past_due"
    assert after.latest_invoice.status == "open"
    assert len(emulator.events("invoice.payment_failed")) == 1


def test_failed_renewal_is_past_due_until_the_invoice_is_paid(client, emulator, clock, prices):
    customer = _customer(client, clock)
    sub = _subscribe(client, customer, prices["basic"])
    failing = client.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", {"customer": customer.id}
    )
    client.v1.customers.update(
        customer.id, {"invoice_settings": {"default_payment_method": failing.id}}
    )
    _advance(client, clock, _period(sub)[1] + DAY)
    overdue = client.v1.subscriptions.retrieve(sub.id, {"expand": ["latest_invoice"]})
    assert overdue.status == "past_due"
    assert overdue.latest_invoice.attempt_count == 1
    assert len(emulator.events("invoice.payment_failed")) == 1
    httpx.post(
        overdue.latest_invoice.hosted_invoice_url,
        data={"action": "pay", "card_number": "4242424242424242"},
    )
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_a_failed_renewal_is_retried_on_schedule_with_the_card_on_file_then(
    client, emulator, clock, prices
):
    customer = _customer(client, clock)
    sub = _subscribe(client, customer, prices["basic"])
    failing = client.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", {"customer": customer.id}
    )
    client.v1.subscriptions.update(sub.id, {"default_payment_method": failing.id})
    end = _period(sub)[1]
    _advance(client, clock, end + DAY)
    invoice = client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(sub.id).latest_invoice)
    first_failure = end + 3600
    assert (invoice.status, invoice.attempt_count) == ("open", 1)
    assert invoice.next_payment_attempt == first_failure + 3 * DAY

    _advance(client, clock, first_failure + 3 * DAY)  # retried, fails again
    again = client.v1.invoices.retrieve(invoice.id)
    assert (again.attempt_count, again.next_payment_attempt) == (2, first_failure + 8 * DAY)
    good = client.v1.payment_methods.attach("pm_card_visa", {"customer": customer.id})
    client.v1.subscriptions.update(sub.id, {"default_payment_method": good.id})

    _advance(client, clock, first_failure + 8 * DAY)

    paid = client.v1.invoices.retrieve(invoice.id)
    assert (paid.status, paid.attempt_count, paid.next_payment_attempt) == ("paid", 3, None)
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    assert len(emulator.events("invoice.payment_failed")) == 2


def test_cancel_at_period_end_is_honoured(client, emulator, clock, prices):
    customer = _customer(client, clock)
    sub = _subscribe(client, customer, prices["basic"])
    client.v1.subscriptions.update(sub.id, {"cancel_at_period_end": True})
    end = _period(sub)[1]
    _advance(client, clock, end + DAY)
    ended = client.v1.subscriptions.retrieve(sub.id)
    assert (ended.status, ended.ended_at) == ("canceled", end)
    assert len(emulator.events("customer.subscription.deleted")) == 1
    assert len(client.v1.invoices.list({"subscription": sub.id}).data) == 1


def test_prorations_are_billed_on_the_renewal_invoice(client, clock, prices):
    customer = _customer(client, clock)
    sub = _subscribe(client, customer, prices["basic"])
    start, end = _period(sub)
    _advance(client, clock, start + (end - start) // 2)
    client.v1.subscriptions.update(
        sub.id, {"items": [{"id": sub["items"].data[0].id, "price": prices["pro"]}]}
    )
    _advance(client, clock, end + DAY)
    renewal = client.v1.subscriptions.retrieve(sub.id, {"expand": ["latest_invoice"]})
    lines = renewal.latest_invoice.lines.data
    prorations = [
        line
        for line in lines
        if line.parent.type == "invoice_item_details" and line.parent.invoice_item_details.proration
    ]
    assert len(prorations) == 2
    cycle = [line for line in lines if line.parent.type == "subscription_item_details"]
    assert [line.amount for line in cycle] == [3000]


def test_schedule_switches_to_the_next_phase_at_the_period_end(client, emulator, clock, prices):
    customer = _customer(client, clock)
    sub = _subscribe(client, customer, prices["pro"])
    start, end = _period(sub)
    schedule = client.v1.subscription_schedules.create({"from_subscription": sub.id})
    schedule = client.v1.subscription_schedules.update(
        schedule.id,
        {
            "phases": [
                {"items": [{"price": prices["pro"]}], "start_date": start, "end_date": end},
                {"items": [{"price": prices["basic"]}], "iterations": 1},
            ]
        },
    )
    assert client.v1.subscriptions.retrieve(sub.id)["items"].data[0].price.id == prices["pro"]
    _advance(client, clock, end + DAY)
    switched = client.v1.subscriptions.retrieve(sub.id, {"expand": ["latest_invoice"]})
    assert switched["items"].data[0].price.id == prices["basic"]
    assert switched.latest_invoice.amount_paid == 1000
    current = client.v1.subscription_schedules.retrieve(schedule.id)
    assert current.current_phase.start_date == end
    assert current.status == "active"
    second_end = current.phases[1].end_date
    _advance(client, clock, second_end + DAY)
    released = client.v1.subscription_schedules.retrieve(schedule.id)
    assert (released.status, released.released_subscription) == ("released", sub.id)
    still = client.v1.subscriptions.retrieve(sub.id)
    assert (still.status, still.schedule) == ("active", None)
    assert len(emulator.events("subscription_schedule.released")) == 1


def test_a_released_schedule_never_switches_and_the_subscription_renews_as_it_was(
    client, emulator, clock, prices
):
    customer = _customer(client, clock)
    sub = _subscribe(client, customer, prices["pro"])
    start, end = _period(sub)
    schedule = client.v1.subscription_schedules.create({"from_subscription": sub.id})
    client.v1.subscription_schedules.update(
        schedule.id,
        {
            "phases": [
                {"items": [{"price": prices["pro"]}], "start_date": start, "end_date": end},
                {"items": [{"price": prices["basic"]}], "iterations": 1},
            ]
        },
    )

    client.v1.subscription_schedules.release(schedule.id)
    _advance(client, clock, end + DAY)

    renewed = client.v1.subscriptions.retrieve(sub.id, {"expand": ["latest_invoice"]})
    assert (renewed.status, renewed.schedule) == ("active", None)
    assert [item.price.id for item in renewed["items"].data] == [prices["pro"]]
    assert _period(renewed)[0] == end
    invoice = renewed.latest_invoice
    assert (invoice.billing_reason, invoice.status, invoice.amount_paid) == (
        "subscription_cycle",
        "paid",
        3000,
    )
    released = client.v1.subscription_schedules.retrieve(schedule.id)
    assert (released.status, released.current_phase) == ("released", None)


def test_schedule_starting_later_creates_the_subscription_then(client, clock, prices):
    customer = _customer(client, clock)
    schedule = client.v1.subscription_schedules.create(
        {
            "billing_mode": CLASSIC_BILLING,
            "customer": customer.id,
            "start_date": START + 3 * DAY,
            "end_behavior": "cancel",
            "phases": [{"items": [{"price": prices["basic"], "quantity": 2}], "iterations": 1}],
        }
    )
    assert (schedule.status, schedule.subscription) == ("not_started", None)
    _advance(client, clock, START + 4 * DAY)
    started = client.v1.subscription_schedules.retrieve(schedule.id)
    assert started.status == "active"
    sub = client.v1.subscriptions.retrieve(started.subscription, {"expand": ["latest_invoice"]})
    assert (sub.status, sub.start_date, sub.latest_invoice.amount_paid) == (
        "active",
        START + 3 * DAY,
        2000,
    )
    _advance(client, clock, started.phases[0].end_date + DAY)
    assert client.v1.subscription_schedules.retrieve(schedule.id).status == "completed"
    assert client.v1.subscriptions.retrieve(sub.id).status == "canceled"


def test_clock_cannot_go_back(client, clock):
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        _advance(client, clock, START - 1)
    assert excinfo.value.param == "frozen_time"
    assert client.v1.test_helpers.test_clocks.retrieve(clock.id).frozen_time == START


def test_one_advance_covers_at_most_two_periods(client, clock, prices):
    customer = _customer(client, clock)
    _subscribe(client, customer, prices["basic"])
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        _advance(client, clock, START + 70 * DAY)
    assert excinfo.value.param == "frozen_time"
    assert client.v1.invoices.list({"customer": customer.id}).data[0].billing_reason == (
        "subscription_create"
    )


def test_a_renewal_invoice_stays_a_draft_for_an_hour_then_is_charged(client, clock, prices):
    customer = _customer(client, clock)
    sub = _subscribe(client, customer, prices["basic"])
    end = _period(sub)[1]

    _advance(client, clock, end + 60)
    draft = client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(sub.id).latest_invoice)
    assert (draft.billing_reason, draft.status) == ("subscription_cycle", "draft")
    assert draft.automatically_finalizes_at == end + 3600

    _advance(client, clock, end + 3600)
    paid = client.v1.invoices.retrieve(draft.id)
    assert (paid.status, paid.amount_paid) == ("paid", 1000)
    assert paid.status_transitions.finalized_at == end + 3600


def test_an_invoice_created_webhook_adds_items_to_the_renewal_draft_before_it_is_charged(
    client, clock, prices, receiver
):
    """What a billing layer does for usage billed in arrears: it answers `invoice.created`
    by adding invoice items to the draft, and they are charged with the renewal, even when
    the clock is advanced past the draft's hour in one call."""
    customer = _customer(client, clock)
    sub = _subscribe(client, customer, prices["basic"])
    end = _period(sub)[1]

    def add_overage(event):
        invoice = event["data"]["object"]
        if event["type"] == "invoice.created" and invoice["billing_reason"] == "subscription_cycle":
            client.v1.invoice_items.create(
                {
                    "customer": customer.id,
                    "invoice": invoice["id"],
                    "amount": 250,
                    "currency": "usd",
                    "description": "overage",
                },
                {"idempotency_key": f"overage-{invoice['id']}"},
            )

    receiver.on_event = add_overage
    _advance(client, clock, end + DAY)

    invoice = client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(sub.id).latest_invoice)
    assert (invoice.status, invoice.amount_paid) == ("paid", 1250)
    assert sorted(line.amount for line in invoice.lines.data) == [250, 1000]
