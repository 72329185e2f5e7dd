"""Subscription schedules through the API: from a subscription, phases, release, cancel."""

import pytest
import stripe

from tests.emulator.conftest import CLASSIC_BILLING


@pytest.fixture
def setup(client):
    product = client.v1.products.create({"name": "Pro"})
    prices = {
        name: client.v1.prices.create(
            {
                "product": product.id,
                "currency": "usd",
                "unit_amount": amount,
                "recurring": {"interval": "month"},
            }
        ).id
        for name, amount in (("basic", 1000), ("pro", 3000))
    }
    customer = client.v1.customers.create(
        {
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )
    sub = client.v1.subscriptions.create(
        {
            "billing_mode": CLASSIC_BILLING,
            "customer": customer.id,
            "items": [{"price": prices["pro"]}],
        }
    )
    return prices, customer, sub


def test_from_subscription_copies_the_current_phase(client, emulator, setup):
    prices, _customer, sub = setup
    schedule = client.v1.subscription_schedules.create({"from_subscription": sub.id})
    item = sub["items"].data[0]
    assert (schedule.status, schedule.subscription, schedule.end_behavior) == (
        "active",
        sub.id,
        "release",
    )
    [phase] = schedule.phases
    assert (phase.start_date, phase.end_date) == (
        item.current_period_start,
        item.current_period_end,
    )
    assert phase["items"][0].price == prices["pro"]
    assert client.v1.subscriptions.retrieve(sub.id).schedule == schedule.id
    assert len(emulator.events("subscription_schedule.created")) == 1
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.subscription_schedules.create({"from_subscription": sub.id})


def test_a_subscription_a_schedule_manages_ends_only_as_the_schedule_says(client, setup):
    _prices, _customer, sub = setup
    schedule = client.v1.subscription_schedules.create({"from_subscription": sub.id})

    for change in (
        {"cancel_at_period_end": True},
        {"cancel_at": sub["items"].data[0].current_period_end},
    ):
        with pytest.raises(stripe.InvalidRequestError) as refused:
            client.v1.subscriptions.update(sub.id, change)
        assert schedule.id in str(refused.value)
    client.v1.subscription_schedules.release(schedule.id)
    assert client.v1.subscriptions.update(
        sub.id, {"cancel_at_period_end": True}
    ).cancel_at_period_end


def test_update_adds_a_next_phase_without_touching_the_subscription_now(client, setup):
    prices, _customer, sub = setup
    schedule = client.v1.subscription_schedules.create({"from_subscription": sub.id})
    current = schedule.phases[0]
    updated = client.v1.subscription_schedules.update(
        schedule.id,
        {
            "end_behavior": "cancel",
            "phases": [
                {
                    "items": [{"price": prices["pro"]}],
                    "start_date": current.start_date,
                    "end_date": current.end_date,
                },
                {"items": [{"price": prices["basic"], "quantity": 2}], "iterations": 2},
            ],
        },
    )
    assert updated.end_behavior == "cancel"
    assert [p["items"][0].price for p in updated.phases] == [prices["pro"], prices["basic"]]
    assert updated.phases[1].start_date == current.end_date
    assert updated.phases[1].end_date > updated.phases[1].start_date
    assert client.v1.subscriptions.retrieve(sub.id)["items"].data[0].price.id == prices["pro"]
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.subscription_schedules.update(
            schedule.id,
            {"phases": [{"items": [{"price": prices["pro"]}], "start_date": 1}]},
        )
    assert excinfo.value.param == "phases[0][start_date]"


def test_release_leaves_the_subscription_running(client, emulator, setup):
    _prices, _customer, sub = setup
    schedule = client.v1.subscription_schedules.create({"from_subscription": sub.id})
    released = client.v1.subscription_schedules.release(schedule.id)
    assert (released.status, released.released_subscription) == ("released", sub.id)
    after = client.v1.subscriptions.retrieve(sub.id)
    assert (after.status, after.schedule) == ("active", None)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.subscription_schedules.release(schedule.id)


def test_cancel_ends_the_schedule_and_its_subscription(client, emulator, setup):
    _prices, _customer, sub = setup
    schedule = client.v1.subscription_schedules.create({"from_subscription": sub.id})
    canceled = client.v1.subscription_schedules.cancel(schedule.id)
    assert canceled.status == "canceled"
    assert client.v1.subscriptions.retrieve(sub.id).status == "canceled"
    assert len(emulator.events("subscription_schedule.canceled")) == 1
    assert len(emulator.events("customer.subscription.deleted")) == 1


def test_customer_and_phases_starting_now_creates_the_subscription(client, setup):
    prices, customer, _ = setup
    schedule = client.v1.subscription_schedules.create(
        {
            "billing_mode": CLASSIC_BILLING,
            "customer": customer.id,
            "start_date": "now",
            "phases": [{"items": [{"price": prices["basic"]}], "iterations": 3}],
            "metadata": {"why": "test"},
        }
    )
    assert schedule.status == "active"
    assert schedule.metadata.to_dict() == {"why": "test"}
    sub = client.v1.subscriptions.retrieve(schedule.subscription)
    assert (sub.status, sub.schedule) == ("active", schedule.id)
    listed = client.v1.subscription_schedules.list({"customer": customer.id})
    assert [s.id for s in listed.data] == [schedule.id]


def test_phase_with_an_unknown_price_is_refused(client, emulator, setup):
    _, customer, _ = setup
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.subscription_schedules.create(
            {
                "billing_mode": CLASSIC_BILLING,
                "customer": customer.id,
                "phases": [{"items": [{"price": "price_nope"}]}],
            }
        )
    assert excinfo.value.param == "phases[0][items][0][price]"
    assert emulator.count("subscription_schedule") == 0
