"""Invoice payments: `invoice_payment.paid` when an invoice is paid, and their reads."""

import pytest
import stripe

from tests.emulator.conftest import CLASSIC_BILLING


def _paid_subscription(client, prices, card="pm_card_visa"):
    customer = client.v1.customers.create(
        {"payment_method": card, "invoice_settings": {"default_payment_method": card}}
    )
    return client.v1.subscriptions.create(
        {
            "billing_mode": CLASSIC_BILLING,
            "customer": customer.id,
            "items": [{"price": prices["basic"]}],
        }
    )


def test_paying_an_invoice_emits_invoice_payment_paid(client, emulator, prices):
    sub = _paid_subscription(client, prices)
    [event] = emulator.events("invoice_payment.paid")
    payment = event["data"]["object"]
    assert payment["object"] == "invoice_payment"
    assert (payment["invoice"], payment["status"]) == (sub.latest_invoice, "paid")
    assert (payment["amount_paid"], payment["amount_requested"]) == (1000, 1000)
    assert payment["status_transitions"]["paid_at"] is not None
    assert payment["payment"]["type"] == "payment_intent"
    # Emitted before the invoice's own paid events, once the payment itself is settled.
    kinds = [e["type"] for e in emulator.events() if e["type"].startswith("invoice")]
    assert kinds.index("invoice_payment.paid") < kinds.index("invoice.paid")


def test_a_failed_payment_emits_no_invoice_payment_paid(client, emulator, prices):
    sub = _paid_subscription(client, prices, card="pm_card_chargeCustomerFail")
    assert sub.status == "incomplete"
    assert emulator.events("invoice_payment.paid") == []


def test_invoice_payments_are_listed_by_invoice_status_and_intent(client, prices):
    sub = _paid_subscription(client, prices)
    [payment] = client.v1.invoice_payments.list({"invoice": sub.latest_invoice}).data
    assert client.v1.invoice_payments.retrieve(payment.id).id == payment.id
    assert client.v1.invoice_payments.list({"status": "open"}).data == []
    intent = payment.payment.payment_intent
    by_intent = client.v1.invoice_payments.list(
        {"payment": {"type": "payment_intent", "payment_intent": intent}}
    ).data
    assert [p.id for p in by_intent] == [payment.id]
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.invoice_payments.list({"status": "late"})  # type: ignore[typeddict-item]
    assert error.value.param == "status"
