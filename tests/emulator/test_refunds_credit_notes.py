"""Refunds and credit notes: giving money back on a charge, lowering or crediting an invoice."""

import pytest
import stripe

from tests.emulator.conftest import CLASSIC_BILLING


def _customer(client, card="pm_card_visa"):
    return client.v1.customers.create(
        {"payment_method": card, "invoice_settings": {"default_payment_method": card}}
    )


def _paid_invoice(client, prices, card="pm_card_visa"):
    customer = _customer(client, card)
    sub = client.v1.subscriptions.create(
        {
            "billing_mode": CLASSIC_BILLING,
            "customer": customer.id,
            "items": [{"price": prices["basic"]}],
            "expand": ["latest_invoice.payments"],
        }
    )
    return customer, sub.latest_invoice


def _intent(client, invoice):
    return client.v1.payment_intents.retrieve(invoice.payments.data[0].payment.payment_intent)


def test_partial_then_full_refund_of_a_payment_intent(client, emulator, prices):
    _, invoice = _paid_invoice(client, prices)
    intent = _intent(client, invoice)
    first = client.v1.refunds.create({"payment_intent": intent.id, "amount": 300})
    assert (first.amount, first.status, first.charge) == (300, "succeeded", intent.latest_charge)
    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (300, False)
    rest = client.v1.refunds.create({"charge": charge.id, "reason": "requested_by_customer"})
    assert rest.amount == 700
    charge = client.v1.charges.retrieve(charge.id)
    assert (charge.amount_refunded, charge.refunded) == (1000, True)
    assert [e["data"]["object"]["id"] for e in emulator.events("refund.created")] == [
        first.id,
        rest.id,
    ]
    [_, last] = emulator.events("charge.refunded")
    assert last["data"]["previous_attributes"] == {"amount_refunded": 300, "refunded": False}
    listed = client.v1.refunds.list({"payment_intent": intent.id}).data
    assert [r.id for r in listed] == [rest.id, first.id]
    assert client.v1.refunds.retrieve(first.id).amount == 300


def test_refunding_more_than_is_left_is_refused_and_changes_nothing(client, emulator, prices):
    _, invoice = _paid_invoice(client, prices)
    intent = _intent(client, invoice)
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.refunds.create({"payment_intent": intent.id, "amount": 1001})
    assert error.value.param == "amount"
    client.v1.refunds.create({"payment_intent": intent.id})
    with pytest.raises(stripe.InvalidRequestError) as again:
        client.v1.refunds.create({"payment_intent": intent.id})
    assert again.value.code == "charge_already_refunded"
    assert len(emulator.events("refund.created")) == 1


def test_credit_note_on_a_paid_invoice_refunds_and_credits_the_balance(client, emulator, prices):
    customer, invoice = _paid_invoice(client, prices)
    line = invoice.lines.data[0]
    note = client.v1.credit_notes.create(
        {
            "invoice": invoice.id,
            "lines": [{"type": "invoice_line_item", "invoice_line_item": line.id, "amount": 600}],
            "refund_amount": 400,
            "credit_amount": 200,
        }
    )
    assert (note.amount, note.status, note.type) == (600, "issued", "post_payment")
    assert (note.pre_payment_amount, note.post_payment_amount) == (0, 600)
    assert note.refunds[0].amount_refunded == 400
    assert note.customer_balance_transaction is not None
    charge = client.v1.charges.retrieve(_intent(client, invoice).latest_charge)
    assert charge.amount_refunded == 400
    assert client.v1.customers.retrieve(customer.id).balance == -200
    after = client.v1.invoices.retrieve(invoice.id)
    assert (after.status, after.post_payment_credit_notes_amount) == ("paid", 600)
    [created] = emulator.events("credit_note.created")
    assert created["data"]["object"]["id"] == note.id
    [balance] = emulator.events("customer.updated")
    assert balance["data"]["previous_attributes"] == {"balance": 0}
    assert [n.id for n in client.v1.credit_notes.list({"invoice": invoice.id}).data] == [note.id]


def test_the_split_of_a_post_payment_credit_note_must_add_up(client, emulator, prices):
    _, invoice = _paid_invoice(client, prices)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.credit_notes.create({"invoice": invoice.id, "amount": 500, "refund_amount": 300})
    with pytest.raises(stripe.InvalidRequestError) as too_much:
        client.v1.credit_notes.create(
            {"invoice": invoice.id, "amount": 1500, "out_of_band_amount": 1500}
        )
    assert too_much.value.param == "amount"
    assert emulator.events("credit_note.created") == []
    assert emulator.events("refund.created") == []


def test_credit_note_on_an_open_invoice_lowers_what_is_due(client, emulator, prices):
    _, invoice = _paid_invoice(client, prices, card="pm_card_chargeCustomerFail")
    assert invoice.status == "open"
    note = client.v1.credit_notes.create({"invoice": invoice.id, "amount": 400})
    assert (note.type, note.pre_payment_amount, note.post_payment_amount) == (
        "pre_payment",
        400,
        0,
    )
    lowered = client.v1.invoices.retrieve(invoice.id)
    assert (lowered.amount_due, lowered.amount_remaining) == (600, 600)
    assert lowered.pre_payment_credit_notes_amount == 400
    intent = client.v1.payment_intents.retrieve(_intent(client, invoice).id)
    assert intent.amount == 600
    # Voiding it asks for the whole amount again.
    voided = client.v1.credit_notes.void_credit_note(note.id)
    assert voided.status == "void"
    restored = client.v1.invoices.retrieve(invoice.id)
    assert (restored.amount_remaining, restored.pre_payment_credit_notes_amount) == (1000, 0)
    assert len(emulator.events("credit_note.voided")) == 1


def test_an_open_invoice_credited_in_full_is_paid_without_a_charge(client, emulator, prices):
    _, invoice = _paid_invoice(client, prices, card="pm_card_chargeCustomerFail")
    client.v1.credit_notes.create({"invoice": invoice.id, "amount": 1000})
    paid = client.v1.invoices.retrieve(invoice.id)
    assert (paid.status, paid.amount_remaining, paid.amount_paid) == ("paid", 0, 0)
    assert client.v1.payment_intents.retrieve(_intent(client, invoice).id).status == "canceled"
    assert len(emulator.events("invoice.paid")) == 1


def test_voiding_a_balance_credit_takes_it_back(client, prices):
    customer, invoice = _paid_invoice(client, prices)
    note = client.v1.credit_notes.create(
        {"invoice": invoice.id, "amount": 300, "credit_amount": 300}
    )
    assert client.v1.customers.retrieve(customer.id).balance == -300
    client.v1.credit_notes.void_credit_note(note.id)
    assert client.v1.customers.retrieve(customer.id).balance == 0
    assert client.v1.invoices.retrieve(invoice.id).post_payment_credit_notes_amount == 0


def test_preview_changes_nothing(client, emulator, prices):
    customer, invoice = _paid_invoice(client, prices)
    preview = client.v1.credit_notes.preview(
        {"invoice": invoice.id, "amount": 300, "credit_amount": 300}
    )
    assert (preview.amount, preview.post_payment_amount) == (300, 300)
    assert client.v1.customers.retrieve(customer.id).balance == 0
    assert client.v1.credit_notes.list({"invoice": invoice.id}).data == []
    assert emulator.events("credit_note.created") == []
