"""SetupIntents: saving each test card, 3-D Secure on the page, cancel."""

import httpx
import pytest
import stripe


def test_good_card_is_saved_on_the_customer(client, emulator):
    customer = client.v1.customers.create()
    intent = client.v1.setup_intents.create(
        {"customer": customer.id, "payment_method": "pm_card_visa", "confirm": True}
    )
    assert intent.status == "succeeded"
    assert intent.usage == "off_session"
    saved = client.v1.payment_methods.retrieve(intent.payment_method)
    assert saved.customer == customer.id
    assert len(emulator.events("setup_intent.succeeded")) == 1
    assert len(emulator.events("payment_method.attached")) == 1


def test_card_whose_charges_fail_can_still_be_saved(client):
    customer = client.v1.customers.create()
    intent = client.v1.setup_intents.create(
        {"customer": customer.id, "payment_method": "pm_card_chargeCustomerFail", "confirm": True}
    )
    assert intent.status == "succeeded"


def test_declining_card_fails_the_setup(client, emulator):
    customer = client.v1.customers.create()
    intent = client.v1.setup_intents.create({"customer": customer.id})
    assert intent.status == "requires_payment_method"
    with pytest.raises(stripe.CardError) as excinfo:
        client.v1.setup_intents.confirm(intent.id, {"payment_method": "pm_card_chargeDeclined"})
    assert excinfo.value.code == "card_declined"
    failed = client.v1.setup_intents.retrieve(intent.id)
    assert failed.status == "requires_payment_method"
    assert failed.last_setup_error.decline_code == "generic_decline"
    assert client.v1.customers.payment_methods.list(customer.id).data == []
    assert len(emulator.events("setup_intent.setup_failed")) == 1


def test_authentication_completes_on_the_page(client, emulator):
    customer = client.v1.customers.create()
    intent = client.v1.setup_intents.create(
        {
            "customer": customer.id,
            "payment_method": "pm_card_authenticationRequired",
            "confirm": True,
            "return_url": "https://shop/saved",
        }
    )
    assert intent.status == "requires_action"
    page = intent.next_action.redirect_to_url.url
    assert "Complete authentication" in httpx.get(page).text
    done = httpx.post(page, data={"action": "complete"})
    assert done.headers["location"] == f"https://shop/saved?setup_intent={intent.id}"
    assert client.v1.setup_intents.retrieve(intent.id).status == "succeeded"
    assert client.v1.payment_methods.retrieve(intent.payment_method).customer == customer.id


def test_cancel(client, emulator):
    intent = client.v1.setup_intents.create({"payment_method": "pm_card_visa"})
    assert intent.status == "requires_confirmation"
    canceled = client.v1.setup_intents.cancel(intent.id)
    assert canceled.status == "canceled"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.setup_intents.confirm(intent.id)
    assert len(emulator.events("setup_intent.canceled")) == 1
