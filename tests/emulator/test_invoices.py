"""Invoices and invoice items: draft, open, paid, payment failed, void, the hosted page."""

from typing import Any

import httpx
import pytest
import stripe

from tests.stripe_clocks import advance


@pytest.fixture
def customer(client):
    return client.v1.customers.create(
        {
            "email": "payer@example.com",
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )


def _draft(client, customer_id, amounts=(1500, 500)):
    invoice = client.v1.invoices.create({"customer": customer_id})
    for amount in amounts:
        client.v1.invoice_items.create(
            {
                "customer": customer_id,
                "invoice": invoice.id,
                "amount": amount,
                "currency": "usd",
                "description": f"item {amount}",
            }
        )
    return client.v1.invoices.retrieve(invoice.id)


def test_draft_collects_its_items_and_finalizes_to_open(client, emulator, customer):
    invoice = _draft(client, customer.id)
    assert invoice.status == "draft"
    assert invoice.total == 2000
    assert [line.amount for line in invoice.lines.data] == [1500, 500]
    assert invoice.lines.data[0].parent.invoice_item_details.proration is False
    finalized = client.v1.invoices.finalize_invoice(invoice.id, {"expand": ["payments"]})
    assert finalized.status == "open"
    assert finalized.number.endswith("-0001")
    assert finalized.amount_due == 2000
    [payment] = finalized.payments.data
    intent = client.v1.payment_intents.retrieve(payment.payment.payment_intent)
    assert (intent.amount, intent.status) == (2000, "requires_payment_method")
    assert len(emulator.events("invoice.created")) == 1
    assert len(emulator.events("invoice.finalized")) == 1


def test_pay_with_the_default_card_marks_it_paid(client, emulator, customer):
    invoice = _draft(client, customer.id)
    paid = client.v1.invoices.pay(invoice.id)
    assert paid.status == "paid"
    assert (paid.amount_paid, paid.amount_remaining, paid.attempt_count) == (2000, 0, 1)
    assert paid.status_transitions.paid_at is not None
    [event] = emulator.events("invoice.paid")
    assert event["data"]["object"]["id"] == invoice.id
    assert len(emulator.events("invoice.payment_succeeded")) == 1
    assert len(emulator.events("payment_intent.succeeded")) == 1


def test_declined_payment_leaves_it_open_and_counts_the_attempt(client, emulator, customer):
    invoice = client.v1.invoices.finalize_invoice(_draft(client, customer.id).id)
    with pytest.raises(stripe.CardError) as excinfo:
        client.v1.invoices.pay(invoice.id, {"payment_method": "pm_card_chargeDeclined"})
    assert excinfo.value.code == "card_declined"
    failed = client.v1.invoices.retrieve(invoice.id)
    assert (failed.status, failed.attempt_count, failed.amount_paid) == ("open", 1, 0)
    assert len(emulator.events("invoice.payment_failed")) == 1
    assert client.v1.invoices.pay(invoice.id).status == "paid"


def test_no_card_at_all_is_a_failed_attempt(client, emulator):
    bare = client.v1.customers.create()
    invoice = _draft(client, bare.id)
    with pytest.raises(stripe.CardError):
        client.v1.invoices.pay(invoice.id)
    assert client.v1.invoices.retrieve(invoice.id).status == "open"
    assert len(emulator.events("invoice.payment_failed")) == 1


def test_authentication_is_completed_on_the_hosted_page(client, emulator, customer):
    invoice = client.v1.invoices.finalize_invoice(_draft(client, customer.id).id)
    with pytest.raises(stripe.CardError) as excinfo:
        client.v1.invoices.pay(invoice.id, {"payment_method": "pm_card_authenticationRequired"})
    assert excinfo.value.code == "invoice_payment_intent_requires_action"
    assert len(emulator.events("invoice.payment_action_required")) == 1
    page = httpx.get(invoice.hosted_invoice_url)
    assert page.status_code == 200
    assert "Authenticate payment" in page.text
    assert "20.00 USD" in page.text
    done = httpx.post(invoice.hosted_invoice_url, data={"action": "authenticate"})
    assert done.status_code == 200
    assert client.v1.invoices.retrieve(invoice.id).status == "paid"
    assert len(emulator.events("invoice.paid")) == 1


@pytest.mark.parametrize(
    ("number", "status", "http_status"),
    [("4242 4242 4242 4242", "paid", 200), ("4000 0000 0000 0002", "open", 402)],
)
def test_hosted_page_pays_with_the_card_typed_in(client, number, status, http_status):
    bare = client.v1.customers.create()
    invoice = client.v1.invoices.finalize_invoice(_draft(client, bare.id).id)
    form = httpx.get(invoice.hosted_invoice_url)
    assert 'name="card_number"' in form.text
    answer = httpx.post(invoice.hosted_invoice_url, data={"action": "pay", "card_number": number})
    assert answer.status_code == http_status
    assert client.v1.invoices.retrieve(invoice.id).status == status


def test_void_cancels_the_payment(client, emulator, customer):
    invoice = client.v1.invoices.finalize_invoice(_draft(client, customer.id).id)
    voided = client.v1.invoices.void_invoice(invoice.id, {"expand": ["payments"]})
    assert voided.status == "void"
    intent = client.v1.payment_intents.retrieve(voided.payments.data[0].payment.payment_intent)
    assert intent.status == "canceled"
    assert len(emulator.events("invoice.voided")) == 1
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.pay(invoice.id)


def test_pending_items_join_an_invoice_that_includes_them(client, customer):
    pending = client.v1.invoice_items.create(
        {"customer": customer.id, "amount": 700, "currency": "usd"}
    )
    excluded = client.v1.invoices.create({"customer": customer.id})
    assert excluded.total == 0
    included = client.v1.invoices.create(
        {"customer": customer.id, "pending_invoice_items_behavior": "include"}
    )
    assert included.total == 700
    assert client.v1.invoice_items.retrieve(pending.id).invoice == included.id


def test_zero_total_finalizes_straight_to_paid(client, emulator, customer):
    invoice = _draft(client, customer.id, amounts=())
    finalized = client.v1.invoices.finalize_invoice(invoice.id)
    assert finalized.status == "paid"
    assert emulator.count("payment_intent") == 0


def test_credit_balance_reduces_what_is_due(client, customer):
    client.v1.customers.update(customer.id, {"balance": -500})
    invoice = client.v1.invoices.finalize_invoice(_draft(client, customer.id).id)
    assert (invoice.total, invoice.amount_due, invoice.starting_balance) == (2000, 1500, -500)
    assert client.v1.customers.retrieve(customer.id).balance == 0


def test_delete_draft_frees_its_items_and_finalized_cannot_change(client, customer):
    invoice = _draft(client, customer.id)
    line_item = invoice.lines.data[0].parent.invoice_item_details.invoice_item
    client.v1.invoices.delete(invoice.id)
    assert client.v1.invoice_items.retrieve(line_item).invoice is None
    other = client.v1.invoices.finalize_invoice(_draft(client, customer.id).id)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.update(other.id, {"description": "late"})


def test_list_filters_by_customer_and_status(client, customer):
    paid = client.v1.invoices.pay(_draft(client, customer.id).id)
    draft = _draft(client, customer.id)
    listed = client.v1.invoices.list({"customer": customer.id, "status": "paid"})
    assert [i.id for i in listed.data] == [paid.id]
    assert draft.id in {i.id for i in client.v1.invoices.list({"customer": customer.id}).data}


def test_hosted_page_shows_a_zero_decimal_currency_in_whole_units(client):
    bare = client.v1.customers.create()
    invoice = client.v1.invoices.create({"customer": bare.id, "currency": "jpy"})
    client.v1.invoice_items.create(
        {"customer": bare.id, "invoice": invoice.id, "amount": 500, "currency": "jpy"}
    )
    invoice = client.v1.invoices.finalize_invoice(invoice.id)
    page = httpx.get(invoice.hosted_invoice_url)
    assert "500 JPY" in page.text
    assert "5.00 JPY" not in page.text


def test_items_and_invoices_list_from_a_created_time_on_the_clock_page_after_page(client):
    """`created[gte]` keeps what was made from then on (an item's `date`, on the customer's
    test clock), newest first, and the SDK's auto-paging carries the filter to every page."""
    start = 1_780_000_000
    clock = client.v1.test_helpers.test_clocks.create({"frozen_time": start})
    payer = client.v1.customers.create({"test_clock": clock.id})
    older = client.v1.invoice_items.create({"customer": payer.id, "amount": 100, "currency": "usd"})
    client.v1.invoices.create({"customer": payer.id, "pending_invoice_items_behavior": "include"})
    later = start + 86400
    advance(client, clock.id, later)
    made = []
    for _ in range(101):
        client.v1.invoice_items.create({"customer": payer.id, "amount": 100, "currency": "usd"})
        made.append(
            client.v1.invoices.create(
                {"customer": payer.id, "pending_invoice_items_behavior": "include"}
            ).id
        )

    since: Any = {"customer": payer.id, "created": {"gte": later}, "limit": 100}
    items = list(client.v1.invoice_items.list(since).auto_paging_iter())
    invoices = list(client.v1.invoices.list(since).auto_paging_iter())

    assert len(items) == 101
    assert older.id not in {i.id for i in items}
    assert {i.date for i in items} == {later}
    assert [i.id for i in invoices] == made[::-1]
    every: Any = {"customer": payer.id, "created": {"gte": start}, "limit": 100}
    assert len(list(client.v1.invoice_items.list(every).auto_paging_iter())) == 102
    assert len(list(client.v1.invoices.list(every).auto_paging_iter())) == 102


def test_a_request_repeated_after_its_idempotency_key_is_forgotten_runs_again(
    client, emulator, customer
):
    """Stripe keeps a key 24 hours: a retry after that makes a second object."""
    params: Any = {"customer": customer.id, "amount": 100, "currency": "usd"}
    first = client.v1.invoice_items.create(params, {"idempotency_key": "k-1"})
    assert client.v1.invoice_items.create(params, {"idempotency_key": "k-1"}).id == first.id

    emulator.forget_idempotency_keys()

    assert client.v1.invoice_items.create(params, {"idempotency_key": "k-1"}).id != first.id


def test_an_item_in_another_currency_than_its_draft_invoice_is_refused(client, customer):
    invoice = client.v1.invoices.create({"customer": customer.id})
    yen = {"customer": customer.id, "invoice": invoice.id, "amount": 500, "currency": "jpy"}

    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.invoice_items.create(yen)

    assert refused.value.param == "currency"
    assert "`jpy`" in str(refused.value)
    assert "`usd`" in str(refused.value)
    assert client.v1.invoices.retrieve(invoice.id).lines.data == []
