"""Cards as PaymentMethods: test numbers, Stripe's test ids, attach/detach, a customer's default."""

import pytest
import stripe


def _card(client, number="4242424242424242"):
    return client.v1.payment_methods.create(
        {"type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2034}}
    )


def test_card_number_becomes_a_card_payment_method(client):
    pm = _card(client, "4242 4242 4242 4242")
    assert pm.id.startswith("pm_")
    assert pm.type == "card"
    assert (pm.card.brand, pm.card.last4, pm.card.exp_month) == ("visa", "4242", 12)
    assert pm.customer is None
    assert client.v1.payment_methods.retrieve(pm.id).card.last4 == "4242"


def test_same_number_has_the_same_fingerprint(client):
    assert _card(client).card.fingerprint == _card(client).card.fingerprint
    assert _card(client).card.fingerprint != _card(client, "4000000000000341").card.fingerprint


def test_an_invalid_number_is_a_card_error(client, emulator):
    with pytest.raises(stripe.CardError) as excinfo:
        _card(client, "4242424242424241")
    assert excinfo.value.code == "incorrect_number"
    assert emulator.count("payment_method") == 0


def test_each_use_of_a_test_id_makes_a_new_payment_method(client):
    customer = client.v1.customers.create()
    first = client.v1.payment_methods.attach("pm_card_visa", {"customer": customer.id})
    second = client.v1.payment_methods.attach("pm_card_visa", {"customer": customer.id})
    assert first.id != second.id
    assert first.id.startswith("pm_")
    assert first.customer == customer.id
    listed = client.v1.customers.payment_methods.list(customer.id)
    assert {pm.id for pm in listed.data} == {first.id, second.id}


@pytest.mark.parametrize(
    ("test_id", "decline_code"),
    [
        ("pm_card_chargeDeclined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
    ],
)
def test_declining_cards_fail_on_attach(client, emulator, test_id, decline_code):
    customer = client.v1.customers.create()
    with pytest.raises(stripe.CardError) as excinfo:
        client.v1.payment_methods.attach(test_id, {"customer": customer.id})
    assert excinfo.value.code == "card_declined"
    assert excinfo.value.error.decline_code == decline_code
    assert client.v1.customers.payment_methods.list(customer.id).data == []
    assert emulator.events("payment_method.attached") == []


def test_card_whose_charges_fail_still_attaches(client, emulator):
    customer = client.v1.customers.create()
    pm = client.v1.payment_methods.attach("pm_card_chargeCustomerFail", {"customer": customer.id})
    assert pm.card.last4 == "0341"
    assert pm.customer == customer.id
    [event] = emulator.events("payment_method.attached")
    assert event["data"]["object"]["id"] == pm.id


def test_attaching_a_card_owned_by_another_customer_is_refused(client):
    one, two = client.v1.customers.create(), client.v1.customers.create()
    pm = client.v1.payment_methods.attach("pm_card_visa", {"customer": one.id})
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.payment_methods.attach(pm.id, {"customer": two.id})
    assert excinfo.value.code == "payment_method_unexpected_state"
    assert client.v1.payment_methods.retrieve(pm.id).customer == one.id


def test_default_payment_method_must_belong_to_the_customer(client):
    customer = client.v1.customers.create()
    stranger = _card(client)
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.customers.update(
            customer.id, {"invoice_settings": {"default_payment_method": stranger.id}}
        )
    assert excinfo.value.param == "invoice_settings[default_payment_method]"
    client.v1.payment_methods.attach(stranger.id, {"customer": customer.id})
    updated = client.v1.customers.update(
        customer.id, {"invoice_settings": {"default_payment_method": stranger.id}}
    )
    assert updated.invoice_settings.default_payment_method == stranger.id


def test_detach_clears_the_customer_default(client, emulator):
    customer = client.v1.customers.create(
        {
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )
    default = customer.invoice_settings.default_payment_method
    detached = client.v1.payment_methods.detach(default)
    assert detached.customer is None
    assert client.v1.customers.retrieve(customer.id).invoice_settings.default_payment_method is None
    assert [e["data"]["object"]["id"] for e in emulator.events("payment_method.detached")] == [
        default
    ]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_methods.detach(default)


def test_list_by_customer_query_and_path_agree(client):
    customer = client.v1.customers.create()
    other = client.v1.customers.create()
    mine = client.v1.payment_methods.attach("pm_card_visa", {"customer": customer.id})
    client.v1.payment_methods.attach("pm_card_visa", {"customer": other.id})
    by_query = client.v1.payment_methods.list({"customer": customer.id, "type": "card"})
    by_path = client.v1.customers.payment_methods.list(customer.id)
    assert [pm.id for pm in by_query.data] == [mine.id]
    assert [pm.id for pm in by_path.data] == [mine.id]
    fetched = client.v1.customers.payment_methods.retrieve(customer.id, mine.id)
    assert fetched.id == mine.id


def test_unknown_payment_method_is_resource_missing(client):
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.payment_methods.retrieve("pm_doesnotexist")
    assert excinfo.value.http_status == 404
    assert excinfo.value.code == "resource_missing"
