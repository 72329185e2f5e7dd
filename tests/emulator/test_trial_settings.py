"""`trial_settings[end_behavior][missing_payment_method]`: what a trial's end does when
there is no card to charge (`cancel` ends the subscription; `create_invoice`, the default,
bills and fails)."""

import pytest
import stripe

from tests.emulator.conftest import CLASSIC_BILLING
from tests.stripe_clocks import advance

DAY = 86400
START = 1_780_000_000


@pytest.fixture
def price(client):
    product = client.v1.products.create({"name": "Pro"})
    return client.v1.prices.create(
        {
            "product": product.id,
            "currency": "usd",
            "unit_amount": 1000,
            "recurring": {"interval": "month"},
        }
    ).id


@pytest.fixture
def clock(client):
    return client.v1.test_helpers.test_clocks.create({"frozen_time": START})


def _trial(client, customer, price):
    return client.v1.subscriptions.create(
        {
            "billing_mode": CLASSIC_BILLING,
            "customer": customer.id,
            "items": [{"price": price}],
            "trial_period_days": 7,
            "trial_settings": {"end_behavior": {"missing_payment_method": "cancel"}},
        }
    )


def test_a_trial_ending_without_a_card_is_canceled_when_asked(client, emulator, clock, price):
    customer = client.v1.customers.create({"test_clock": clock.id})
    sub = _trial(client, customer, price)
    assert sub.trial_settings.end_behavior.missing_payment_method == "cancel"

    advance(client, clock.id, START + 8 * DAY)

    ended = client.v1.subscriptions.retrieve(sub.id)
    assert ended.status == "canceled"
    assert ended.ended_at == START + 7 * DAY
    assert len(emulator.events("customer.subscription.deleted")) == 1
    assert emulator.events("invoice.payment_failed") == []


def test_a_trial_ending_with_a_card_added_meanwhile_is_charged(client, emulator, clock, price):
    customer = client.v1.customers.create({"test_clock": clock.id})
    sub = _trial(client, customer, price)
    card = client.v1.payment_methods.attach("pm_card_visa", {"customer": customer.id})
    client.v1.customers.update(
        customer.id, {"invoice_settings": {"default_payment_method": card.id}}
    )

    advance(client, clock.id, START + 8 * DAY)

    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    assert emulator.events("customer.subscription.deleted") == []


def test_an_unknown_end_behavior_is_refused(client, price):
    customer = client.v1.customers.create({})
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.subscriptions.create(
            {
                "billing_mode": CLASSIC_BILLING,
                "customer": customer.id,
                "items": [{"price": price}],
                "trial_period_days": 7,
                "trial_settings": {"end_behavior": {"missing_payment_method": "shrug"}},
            }
        )
    assert refused.value.param == "trial_settings[end_behavior][missing_payment_method]"
