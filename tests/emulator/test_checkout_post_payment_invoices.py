"""Payment-mode Checkout with ``invoice_creation[enabled]``: once the payment succeeds,
Stripe makes a paid invoice of the session's line items (its post-payment invoice), paid by
the session's own payment, and names it on the session; without it there is none."""

import pytest
import stripe

from tests.emulator.conftest import CLASSIC_BILLING
from tests.emulator.test_checkout import SUCCEEDS, _pay, _payment_session


@pytest.fixture
def one_time_price(client):
    return client.v1.prices.create(
        {"currency": "usd", "unit_amount": 1500, "product_data": {"name": "Credits pack"}}
    )


@pytest.fixture
def customer(client):
    return client.v1.customers.create({"email": "buyer@example.com"})


def test_a_payment_session_with_invoice_creation_leaves_one_paid_invoice(
    client, receiver, customer, one_time_price
):
    session = _payment_session(
        client,
        customer,
        one_time_price,
        invoice_creation={
            "enabled": True,
            "invoice_data": {"description": "Credits", "metadata": {"order": "o_1"}},
        },
    )
    assert session.invoice_creation.enabled is True
    assert session.invoice_creation.invoice_data.metadata.to_dict() == {"order": "o_1"}

    assert _pay(session, SUCCEEDS).status_code == 303

    done = client.v1.checkout.sessions.retrieve(session.id)
    assert done.invoice is not None
    invoice = client.v1.invoices.retrieve(done.invoice)
    assert (invoice.status, invoice.total, invoice.amount_paid) == ("paid", 3000, 3000)
    assert (invoice.customer, invoice.collection_method) == (customer.id, "charge_automatically")
    assert invoice.metadata.to_dict() == {"order": "o_1"}
    assert invoice.description == "Credits"
    assert [(line.amount, line.quantity) for line in invoice.lines.data] == [(3000, 2)]
    assert invoice.lines.data[0].pricing.price_details.price == one_time_price.id
    (payment,) = client.v1.invoice_payments.list({"invoice": invoice.id}).data
    assert payment.payment.payment_intent == done.payment_intent, "paid by the session"
    intents = client.v1.payment_intents.list({"customer": customer.id}).data
    assert [i.amount for i in intents] == [3000], "charged once"
    assert client.v1.invoices.list({"customer": customer.id}).data[0].id == invoice.id
    types = receiver.types()
    assert {"invoice.created", "invoice.finalized", "invoice.paid"} <= set(types)
    assert types.index("invoice.paid") < types.index("checkout.session.completed")


def test_without_invoice_creation_a_payment_session_leaves_no_invoice(
    client, customer, one_time_price
):
    session = _payment_session(client, customer, one_time_price)
    assert session.invoice_creation.enabled is False

    _pay(session, SUCCEEDS)

    assert client.v1.checkout.sessions.retrieve(session.id).invoice is None
    assert client.v1.invoices.list({"customer": customer.id}).data == []


def test_a_guest_payment_session_with_invoice_creation_creates_its_customer(client, one_time_price):
    guest = client.v1.checkout.sessions.create(
        {
            "mode": "payment",
            "customer_email": "guest@example.com",
            "line_items": [{"price": one_time_price.id, "quantity": 1}],
            "invoice_creation": {"enabled": True},
        }
    )

    _pay(guest, SUCCEEDS)

    done = client.v1.checkout.sessions.retrieve(guest.id)
    assert done.customer is not None
    assert client.v1.invoices.retrieve(done.invoice).customer == done.customer


def test_invoice_creation_is_for_payment_mode_only(client, customer, emulator):
    price = client.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": 2000,
            "recurring": {"interval": "month"},
            "product_data": {"name": "Pro"},
        }
    )
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.checkout.sessions.create(
            {
                "mode": "subscription",
                "subscription_data": {"billing_mode": CLASSIC_BILLING},
                "customer": customer.id,
                "line_items": [{"price": price.id, "quantity": 1}],
                "invoice_creation": {"enabled": True},
            }
        )
    assert excinfo.value.param == "invoice_creation"
    assert emulator.count("checkout.session") == 0
