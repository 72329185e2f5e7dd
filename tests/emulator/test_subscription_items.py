"""Subscription items: changing one item is the subscription update that changes it."""

import pytest
import stripe

from tests.emulator.conftest import CLASSIC_BILLING


def _customer(client, card="pm_card_visa"):
    return client.v1.customers.create(
        {"payment_method": card, "invoice_settings": {"default_payment_method": card}}
    )


def _subscribe(client, customer, price, quantity=1):
    return client.v1.subscriptions.create(
        {
            "billing_mode": CLASSIC_BILLING,
            "customer": customer.id,
            "items": [{"price": price, "quantity": quantity}],
        }
    )


def _pending_prorations(client, customer):
    items = client.v1.invoice_items.list({"customer": customer.id}).data
    return sorted(item.amount for item in items if item.invoice is None and item.proration)


def test_quantity_change_prorates_like_the_subscription_update(client, emulator, prices):
    customer = _customer(client)
    sub = _subscribe(client, customer, prices["basic"])
    item = sub["items"].data[0]
    updated = client.v1.subscription_items.update(item.id, {"quantity": 3})
    assert (updated.id, updated.quantity, updated.price.id) == (item.id, 3, prices["basic"])
    assert client.v1.subscriptions.retrieve(sub.id)["items"].data[0].quantity == 3
    # The same invoice items a subscription update with create_prorations leaves pending.
    credit, charge = _pending_prorations(client, customer)
    assert credit < 0 < charge
    assert abs(charge + 3 * credit) <= 1
    [event] = emulator.events("customer.subscription.updated")
    assert event["data"]["previous_attributes"]["items"]["data"][0]["quantity"] == 1
    assert client.v1.subscription_items.retrieve(item.id).quantity == 3


def test_price_change_with_always_invoice_charges_the_proration_now(client, prices):
    customer = _customer(client)
    sub = _subscribe(client, customer, prices["basic"])
    item = sub["items"].data[0]
    updated = client.v1.subscription_items.update(
        item.id, {"price": prices["pro"], "proration_behavior": "always_invoice"}
    )
    assert updated.price.id == prices["pro"]
    after = client.v1.subscriptions.retrieve(sub.id, {"expand": ["latest_invoice"]})
    invoice = after.latest_invoice
    assert (invoice.billing_reason, invoice.status) == ("subscription_update", "paid")
    assert 0 < invoice.amount_paid <= 2000
    assert _pending_prorations(client, customer) == []


def test_proration_none_changes_the_quantity_without_money(client, prices):
    customer = _customer(client)
    sub = _subscribe(client, customer, prices["basic"])
    item = sub["items"].data[0]
    client.v1.subscription_items.update(item.id, {"quantity": 2, "proration_behavior": "none"})
    assert _pending_prorations(client, customer) == []
    assert client.v1.subscriptions.retrieve(sub.id)["items"].data[0].quantity == 2


def test_pending_if_incomplete_keeps_the_item_until_the_invoice_is_paid(client, prices):
    customer = _customer(client)
    sub = _subscribe(client, customer, prices["basic"])
    item = sub["items"].data[0]
    failing = client.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", {"customer": customer.id}
    )
    client.v1.subscriptions.update(sub.id, {"default_payment_method": failing.id})
    answered = client.v1.subscription_items.update(
        item.id,
        {
            "price": prices["pro"],
            "payment_behavior": "pending_if_incomplete",
            "proration_behavior": "always_invoice",
        },
    )
    assert answered.price.id == prices["basic"]
    after = client.v1.subscriptions.retrieve(sub.id)
    assert after.pending_update is not None
    assert after["items"].data[0].price.id == prices["basic"]
    assert after.status == "active"


def test_items_are_listed_by_subscription_added_and_deleted(client, prices):
    customer = _customer(client)
    sub = _subscribe(client, customer, prices["basic"])
    extra_price = client.v1.prices.create(
        {
            "product": sub["items"].data[0].price.product,
            "currency": "usd",
            "unit_amount": 500,
            "recurring": {"interval": "month"},
        }
    )
    added = client.v1.subscription_items.create(
        {
            "subscription": sub.id,
            "price": extra_price.id,
            "quantity": 2,
            "proration_behavior": "none",
        }
    )
    assert (added.subscription, added.quantity) == (sub.id, 2)
    listed = client.v1.subscription_items.list({"subscription": sub.id}).data
    assert {i.id for i in listed} == {sub["items"].data[0].id, added.id}
    deleted = client.v1.subscription_items.delete(added.id, {"proration_behavior": "none"})
    assert deleted.deleted is True
    assert [i.id for i in client.v1.subscriptions.retrieve(sub.id)["items"].data] == [
        sub["items"].data[0].id
    ]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.subscription_items.retrieve(added.id)


def test_bad_input_names_the_item_parameter_and_changes_nothing(client, emulator, prices):
    customer = _customer(client)
    sub = _subscribe(client, customer, prices["basic"])
    item = sub["items"].data[0]
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.subscription_items.update(item.id, {"quantity": -1})
    assert error.value.param == "quantity"
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.subscription_items.update(item.id, {"colour": "red"})  # type: ignore[typeddict-unknown-key]
    assert unknown.value.param == "colour"
    assert client.v1.subscriptions.retrieve(sub.id)["items"].data[0].quantity == 1
    assert emulator.events("customer.subscription.updated") == []
