"""Invoices sent to be paid (``collection_method=send_invoice``), as Stripe makes them: a
subscription so collected is active at once and charges nothing; its invoices are due
``days_until_due`` days after they are made, stay open until paid (on the hosted invoice
page), and renewals are sent the same way, never charged to a card on file."""

import time

import httpx
import pytest
import stripe

from tests.emulator.conftest import CLASSIC_BILLING
from tests.stripe_clocks import advance

DAY = 86400


@pytest.fixture
def customer(client):
    # A card on file that must never be charged for a sent invoice.
    return client.v1.customers.create(
        {
            "email": "ap@example.com",
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )


def _sent_subscription(client, customer, price, days=30):
    return client.v1.subscriptions.create(
        {
            "billing_mode": CLASSIC_BILLING,
            "customer": customer.id,
            "items": [{"price": price}],
            "collection_method": "send_invoice",
            "days_until_due": days,
        }
    )


def test_a_send_invoice_subscription_is_active_and_its_first_invoice_a_draft_nothing_charged(
    client, emulator, customer, prices
):
    subscription = _sent_subscription(client, customer, prices["pro"], days=14)

    assert (subscription.status, subscription.collection_method) == ("active", "send_invoice")
    assert subscription.days_until_due == 14
    invoice = client.v1.invoices.retrieve(subscription.latest_invoice)
    assert (invoice.status, invoice.collection_method) == ("draft", "send_invoice")
    assert invoice.due_date == invoice.created + 14 * DAY
    assert invoice.automatically_finalizes_at == invoice.created + 3600
    assert emulator.count("payment_intent") == 0, "nothing charged"


def test_a_finalized_sent_invoice_stays_open_until_paid_on_its_hosted_page(
    client, emulator, customer, prices
):
    subscription = _sent_subscription(client, customer, prices["pro"])
    invoice_id = subscription.latest_invoice

    opened = client.v1.invoices.finalize_invoice(invoice_id)
    sent = client.v1.invoices.send_invoice(invoice_id)

    assert (opened.status, opened.amount_due) == ("open", 3000)
    assert sent.status == "open"
    assert len(emulator.events("invoice.sent")) == 1
    assert emulator.events("invoice.paid") == []
    page = httpx.post(opened.hosted_invoice_url, data={"card_number": "4242424242424242"})
    assert page.status_code == 200, page.text
    paid = client.v1.invoices.retrieve(invoice_id)
    assert (paid.status, paid.amount_paid) == ("paid", 3000)
    assert len(emulator.events("invoice.paid")) == 1


def test_sending_is_for_finalized_send_invoice_invoices_only(client, customer, prices):
    subscription = _sent_subscription(client, customer, prices["pro"])
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.send_invoice(subscription.latest_invoice)  # still a draft
    automatic = client.v1.invoices.create({"customer": customer.id})
    client.v1.invoices.finalize_invoice(automatic.id)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.send_invoice(automatic.id)


def test_days_until_due_goes_with_send_invoice_only(client, customer, prices):
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.subscriptions.create(
            {
                "billing_mode": CLASSIC_BILLING,
                "customer": customer.id,
                "items": [{"price": prices["pro"]}],
                "collection_method": "send_invoice",
            }
        )
    assert missing.value.param == "days_until_due"
    with pytest.raises(stripe.InvalidRequestError) as misplaced:
        client.v1.invoices.create({"customer": customer.id, "days_until_due": 3})
    assert misplaced.value.param == "days_until_due"


def test_a_one_off_sent_invoice_is_due_days_after_it_is_made(client, customer):
    invoice = client.v1.invoices.create(
        {"customer": customer.id, "collection_method": "send_invoice", "days_until_due": 7}
    )
    client.v1.invoice_items.create(
        {"customer": customer.id, "invoice": invoice.id, "amount": 900, "currency": "usd"}
    )

    opened = client.v1.invoices.finalize_invoice(invoice.id)

    assert (opened.status, opened.collection_method) == ("open", "send_invoice")
    assert opened.due_date == invoice.created + 7 * DAY


def test_a_sent_subscriptions_first_invoice_finalizes_after_an_hour_and_renewals_are_sent(
    client, emulator, prices
):
    start = int(time.time())
    clock = client.v1.test_helpers.test_clocks.create({"frozen_time": start})
    customer = client.v1.customers.create(
        {
            "test_clock": clock.id,
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )
    subscription = _sent_subscription(client, customer, prices["basic"], days=10)

    advance(client, clock.id, start + 2 * 3600)
    first = client.v1.invoices.retrieve(subscription.latest_invoice)
    assert first.status == "open", "finalized an hour after it was made, not charged"

    advance(client, clock.id, start + 32 * DAY)
    renewal = client.v1.invoices.list({"customer": customer.id}).data[0]
    assert renewal.id != first.id
    assert (renewal.billing_reason, renewal.status) == ("subscription_cycle", "open")
    assert renewal.collection_method == "send_invoice"
    assert renewal.due_date == renewal.created + 10 * DAY
    assert emulator.events("invoice.paid") == [], "no card on file was charged"
