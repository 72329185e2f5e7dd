"""billing_mode: what is new is flexible unless classic is asked for, as in Stripe at our API
version; the emulator computes classic billing only, so whatever would be flexible is a 400
naming billing_mode (never billed the classic way), and classic is kept on the object."""

from typing import Any

import pytest
import stripe

from tests.emulator.conftest import CLASSIC_BILLING


@pytest.fixture
def customer(client):
    return client.v1.customers.create(
        {
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )


def _refused(call: Any) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        call()
    assert excinfo.value.http_status == 400
    assert excinfo.value.error is not None
    assert excinfo.value.error.type == "invalid_request_error"
    return excinfo.value


def test_a_subscription_without_billing_mode_would_be_flexible_and_is_refused(
    client, emulator, customer, prices
):
    refused = _refused(
        lambda: client.v1.subscriptions.create(
            {"customer": customer.id, "items": [{"price": prices["basic"]}]}
        )
    )
    assert refused.param == "billing_mode"
    assert "classic billing mode only" in str(refused)
    assert (emulator.count("subscription"), emulator.count("invoice")) == (0, 0)


@pytest.mark.parametrize(
    ("billing_mode", "param", "code"),
    [
        ({"type": "flexible"}, "billing_mode[type]", "parameter_invalid"),
        ({"type": "modern"}, "billing_mode[type]", "parameter_invalid"),
        (
            {"flexible": {"proration_discounts": "itemized"}},
            "billing_mode[type]",
            "parameter_missing",
        ),
        ({"type": "classic", "shape": "round"}, "billing_mode[shape]", "parameter_unknown"),
        (
            {"type": "classic", "flexible": {"proration_discounts": "itemized"}},
            "billing_mode[flexible]",
            "parameter_invalid",
        ),
        (
            {"type": "flexible", "flexible": {"proration_discounts": "some"}},
            "billing_mode[flexible][proration_discounts]",
            "parameter_invalid",
        ),
        ("classic", "billing_mode", "parameter_invalid_hash"),
    ],
)
def test_a_billing_mode_other_than_classic_is_refused_naming_the_field(
    client, emulator, customer, prices, billing_mode, param, code
):
    refused = _refused(
        lambda: client.v1.subscriptions.create(
            {
                "customer": customer.id,
                "items": [{"price": prices["basic"]}],
                "billing_mode": billing_mode,
            }
        )
    )
    assert (refused.param, refused.code) == (param, code)
    assert emulator.count("subscription") == 0


def test_a_classic_subscription_keeps_its_mode_and_its_schedule_and_previews_follow_it(
    client, customer, prices
):
    sub = client.v1.subscriptions.create(
        {
            "customer": customer.id,
            "items": [{"price": prices["basic"]}],
            "billing_mode": CLASSIC_BILLING,
        }
    )
    assert sub.billing_mode.type == "classic"
    assert client.v1.subscriptions.retrieve(sub.id).billing_mode.type == "classic"
    # A change to it is previewed in its own mode: billing_mode is not for an existing one.
    refused = _refused(
        lambda: client.v1.invoices.create_preview(
            {"subscription": sub.id, "subscription_details": {"billing_mode": CLASSIC_BILLING}}
        )
    )
    assert refused.param == "subscription_details[billing_mode]"
    # A schedule made from it takes its mode, and takes no billing_mode of its own.
    refused = _refused(
        lambda: client.v1.subscription_schedules.create(
            {"from_subscription": sub.id, "billing_mode": CLASSIC_BILLING}
        )
    )
    assert refused.param == "billing_mode"
    schedule = client.v1.subscription_schedules.create({"from_subscription": sub.id})
    assert schedule.billing_mode.type == "classic"


def test_a_schedule_with_phases_needs_classic_and_its_subscription_is_classic(
    client, emulator, customer, prices
):
    params: Any = {
        "customer": customer.id,
        "start_date": "now",
        "phases": [{"items": [{"price": prices["basic"]}], "iterations": 2}],
    }
    refused = _refused(lambda: client.v1.subscription_schedules.create(params))
    assert refused.param == "billing_mode"
    assert emulator.count("subscription_schedule") == 0
    schedule = client.v1.subscription_schedules.create({**params, "billing_mode": CLASSIC_BILLING})
    assert schedule.billing_mode.type == "classic"
    assert client.v1.subscriptions.retrieve(schedule.subscription).billing_mode.type == "classic"


def test_a_new_subscriptions_preview_needs_classic(client, customer, prices):
    details: Any = {"items": [{"price": prices["basic"]}]}
    refused = _refused(
        lambda: client.v1.invoices.create_preview(
            {"customer": customer.id, "subscription_details": details}
        )
    )
    assert refused.param == "subscription_details[billing_mode]"
    refused = _refused(
        lambda: client.v1.invoices.create_preview(
            {
                "customer": customer.id,
                "subscription_details": {**details, "billing_mode": {"type": "flexible"}},
            }
        )
    )
    assert refused.param == "subscription_details[billing_mode][type]"
    preview = client.v1.invoices.create_preview(
        {
            "customer": customer.id,
            "subscription_details": {**details, "billing_mode": CLASSIC_BILLING},
        }
    )
    assert preview.amount_due == 1000


def test_a_subscription_mode_checkout_session_needs_classic(client, emulator, customer, prices):
    params: Any = {
        "mode": "subscription",
        "customer": customer.id,
        "line_items": [{"price": prices["basic"], "quantity": 1}],
        "success_url": "https://app.example/done",
    }
    refused = _refused(lambda: client.v1.checkout.sessions.create(params))
    assert refused.param == "subscription_data[billing_mode]"
    refused = _refused(
        lambda: client.v1.checkout.sessions.create(
            {**params, "subscription_data": {"billing_mode": {"type": "flexible"}}}
        )
    )
    assert refused.param == "subscription_data[billing_mode][type]"
    assert emulator.count("checkout.session") == 0
    session = client.v1.checkout.sessions.create(
        {**params, "subscription_data": {"billing_mode": CLASSIC_BILLING}}
    )
    assert session.status == "open"
