"""Subscription-mode Checkout with one-time prices: charged once, on the first invoice."""

from urllib.parse import urlsplit

import httpx
import pytest

from tests.emulator.conftest import CLASSIC_BILLING

SUCCEEDS = "4242 4242 4242 4242"


@pytest.fixture
def setup_fee(client):
    return client.v1.prices.create(
        {"currency": "usd", "unit_amount": 2500, "product_data": {"name": "Setup fee"}}
    )


@pytest.fixture
def monthly(client):
    return client.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": 1000,
            "recurring": {"interval": "month"},
            "product_data": {"name": "Pro"},
        }
    )


def _session(client, customer, line_items, subscription_data=None, **extra):
    return client.v1.checkout.sessions.create(
        {
            "mode": "subscription",
            "customer": customer.id,
            "line_items": line_items,
            "success_url": "https://app.example/done",
            "subscription_data": {"billing_mode": CLASSIC_BILLING, **(subscription_data or {})},
            **extra,
        }
    )


def _pay(session):
    parts = urlsplit(session.url)
    answer = httpx.post(
        f"{parts.scheme}://{parts.netloc}{parts.path}", data={"card_number": SUCCEEDS}
    )
    assert answer.status_code in (200, 303), answer.text


def test_one_time_prices_are_charged_on_the_first_invoice_only(client, setup_fee, monthly):
    customer = client.v1.customers.create({"email": "fee@example.com"})
    session = _session(
        client,
        customer,
        [{"price": monthly.id, "quantity": 2}, {"price": setup_fee.id, "quantity": 1}],
    )
    assert session.amount_total == 2 * 1000 + 2500
    _pay(session)
    done = client.v1.checkout.sessions.retrieve(session.id)
    assert done.status == "complete"
    sub = client.v1.subscriptions.retrieve(done.subscription)
    # The subscription bills the recurring price only; the fee is not renewed.
    assert [(i.price.id, i.quantity) for i in sub["items"].data] == [(monthly.id, 2)]
    invoice = client.v1.invoices.retrieve(done.invoice)
    assert (invoice.status, invoice.amount_paid) == ("paid", 4500)
    assert sorted(line.amount for line in invoice.lines.data) == [2000, 2500]
    fee_line = next(line for line in invoice.lines.data if line.amount == 2500)
    assert fee_line.pricing.price_details.price == setup_fee.id
    assert client.v1.invoice_items.list({"customer": customer.id, "pending": True}).data == []


def test_during_a_trial_only_the_one_time_prices_are_charged_now(client, setup_fee, monthly):
    customer = client.v1.customers.create({"email": "trial@example.com"})
    session = _session(
        client,
        customer,
        [{"price": monthly.id, "quantity": 1}, {"price": setup_fee.id, "quantity": 2}],
        subscription_data={"trial_period_days": 7},
    )
    assert session.amount_total == 5000
    _pay(session)
    done = client.v1.checkout.sessions.retrieve(session.id)
    sub = client.v1.subscriptions.retrieve(done.subscription)
    assert sub.status == "trialing"
    invoice = client.v1.invoices.retrieve(done.invoice)
    assert (invoice.status, invoice.amount_paid) == ("paid", 5000)
