"""PaymentIntents: each test card's outcome, statuses, 3-D Secure on the emulator's page."""

import httpx
import pytest
import stripe


def _intent(client, payment_method, **extra):
    return client.v1.payment_intents.create(
        {"amount": 2000, "currency": "usd", "payment_method": payment_method, **extra}
    )


def test_without_payment_method_requires_one(client, emulator):
    intent = client.v1.payment_intents.create({"amount": 2000, "currency": "usd"})
    assert intent.status == "requires_payment_method"
    assert intent.client_secret.startswith(f"{intent.id}_secret_")
    assert [e["data"]["object"]["id"] for e in emulator.events("payment_intent.created")] == [
        intent.id
    ]


def test_confirming_with_a_good_card_succeeds_and_charges(client, emulator):
    intent = _intent(client, "pm_card_visa")
    assert intent.status == "requires_confirmation"
    confirmed = client.v1.payment_intents.confirm(intent.id)
    assert confirmed.status == "succeeded"
    assert confirmed.amount_received == 2000
    charge = client.v1.charges.retrieve(confirmed.latest_charge)
    assert (charge.status, charge.amount, charge.paid) == ("succeeded", 2000, True)
    assert len(emulator.events("payment_intent.succeeded")) == 1
    assert len(emulator.events("charge.succeeded")) == 1


@pytest.mark.parametrize(
    ("number", "decline_code"),
    [
        ("4000000000000002", "generic_decline"),
        ("4000000000009995", "insufficient_funds"),
        ("4000000000000341", "generic_decline"),
    ],
)
def test_declining_card_answers_402_and_needs_a_new_payment_method(
    client, emulator, number, decline_code
):
    card = client.v1.payment_methods.create(
        {"type": "card", "card": {"number": number, "exp_month": 1, "exp_year": 2031}}
    )
    with pytest.raises(stripe.CardError) as excinfo:
        _intent(client, card.id, confirm=True)
    error = excinfo.value.error
    assert excinfo.value.http_status == 402
    assert (error.code, error.decline_code) == ("card_declined", decline_code)
    assert error.payment_intent.status == "requires_payment_method"
    intent = client.v1.payment_intents.retrieve(error.payment_intent.id)
    assert intent.status == "requires_payment_method"
    assert intent.last_payment_error.decline_code == decline_code
    assert intent.amount_received == 0
    assert client.v1.charges.retrieve(intent.latest_charge).status == "failed"
    assert len(emulator.events("payment_intent.payment_failed")) == 1
    assert emulator.events("payment_intent.succeeded") == []


def test_a_declined_intent_can_be_retried_with_another_card(client):
    with pytest.raises(stripe.CardError) as excinfo:
        _intent(client, "pm_card_chargeDeclined", confirm=True)
    retried = client.v1.payment_intents.confirm(
        excinfo.value.error.payment_intent.id, {"payment_method": "pm_card_visa"}
    )
    assert retried.status == "succeeded"
    assert retried.last_payment_error is None


def test_authentication_card_requires_action_until_completed_on_the_page(client, emulator):
    intent = _intent(
        client, "pm_card_authenticationRequired", confirm=True, return_url="https://shop/done"
    )
    assert intent.status == "requires_action"
    assert intent.next_action.type == "redirect_to_url"
    page = intent.next_action.redirect_to_url.url
    assert page.startswith(emulator.url)
    assert len(emulator.events("payment_intent.requires_action")) == 1

    shown = httpx.get(page)
    assert shown.status_code == 200
    assert "20.00 USD" in shown.text
    submitted = httpx.post(page, data={"action": "complete"})
    assert submitted.status_code == 303
    assert submitted.headers["location"] == f"https://shop/done?payment_intent={intent.id}"

    done = client.v1.payment_intents.retrieve(intent.id)
    assert done.status == "succeeded"
    assert done.next_action is None
    assert len(emulator.events("payment_intent.succeeded")) == 1


def test_failed_authentication_needs_a_new_payment_method(client):
    intent = _intent(client, "pm_card_authenticationRequired", confirm=True)
    page = intent.next_action.redirect_to_url.url
    assert httpx.post(page, data={"action": "fail"}).status_code == 200
    failed = client.v1.payment_intents.retrieve(intent.id)
    assert failed.status == "requires_payment_method"
    assert failed.last_payment_error.code == "payment_intent_authentication_failure"


def test_off_session_authentication_is_a_card_error(client):
    customer = client.v1.customers.create()
    card = client.v1.payment_methods.attach(
        "pm_card_authenticationRequired", {"customer": customer.id}
    )
    with pytest.raises(stripe.CardError) as excinfo:
        _intent(client, card.id, customer=customer.id, confirm=True, off_session=True)
    assert excinfo.value.code == "authentication_required"
    assert excinfo.value.error.payment_intent.status == "requires_action"


def test_setup_future_usage_saves_the_card_on_the_customer(client):
    customer = client.v1.customers.create()
    intent = _intent(
        client,
        "pm_card_visa",
        customer=customer.id,
        confirm=True,
        setup_future_usage="off_session",
    )
    assert intent.status == "succeeded"
    assert client.v1.payment_methods.retrieve(intent.payment_method).customer == customer.id


def test_cancel_and_confirming_a_finished_intent_is_refused(client, emulator):
    intent = _intent(client, "pm_card_visa")
    canceled = client.v1.payment_intents.cancel(
        intent.id, {"cancellation_reason": "requested_by_customer"}
    )
    assert canceled.status == "canceled"
    assert canceled.cancellation_reason == "requested_by_customer"
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.payment_intents.confirm(intent.id)
    assert excinfo.value.code == "payment_intent_unexpected_state"
    assert len(emulator.events("payment_intent.canceled")) == 1


def test_amount_below_the_minimum_is_refused(client, emulator):
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.payment_intents.create({"amount": 10, "currency": "usd"})
    assert excinfo.value.code == "amount_too_small"
    assert emulator.count("payment_intent") == 0


def test_expand_payment_method_and_list_by_customer(client):
    customer = client.v1.customers.create()
    intent = _intent(client, "pm_card_visa", customer=customer.id, expand=["payment_method"])
    assert intent.payment_method.card.last4 == "4242"
    _intent(client, "pm_card_visa")
    listed = client.v1.payment_intents.list({"customer": customer.id})
    assert [i.id for i in listed.data] == [intent.id]
