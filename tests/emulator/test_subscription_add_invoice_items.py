"""``add_invoice_items`` on a subscription update, as Stripe documents it: one-time charges
(a one-time price, or ``price_data`` on an existing product) that go on the invoice the
update makes, a pending update's included (paid whenever it is paid, nothing applied before),
or wait for the subscription's next invoice when the update invoices nothing now."""

from typing import Any

import httpx
import pytest
import stripe

from tests.emulator.conftest import CLASSIC_BILLING
from tests.stripe_clocks import wait_until_ready


def _customer(client: stripe.StripeClient, card: str = "pm_card_visa") -> Any:
    return client.v1.customers.create(
        {"payment_method": card, "invoice_settings": {"default_payment_method": card}}
    )


def _subscribed(client: stripe.StripeClient, customer: Any, price: str) -> Any:
    return client.v1.subscriptions.create(
        {
            "billing_mode": CLASSIC_BILLING,
            "customer": customer.id,
            "items": [{"price": price}],
            "payment_behavior": "allow_incomplete",
        }
    )


def _product_of(client: stripe.StripeClient, price: str) -> str:
    return str(client.v1.prices.retrieve(price).product)


def _lines(invoice: Any) -> list[tuple[int, bool, dict[str, str]]]:
    return sorted(
        (line.amount, bool(line.parent.invoice_item_details.proration), line.metadata.to_dict())
        for line in invoice.lines.data
    )


def test_a_pending_update_bills_its_added_items_on_its_own_invoice_and_applies_once_paid(
    client: stripe.StripeClient, prices: dict[str, str]
) -> None:
    customer = _customer(client)
    sub = _subscribed(client, customer, prices["basic"])
    # From now on the card needs authentication: the update's invoice waits for it.
    three_ds = client.v1.payment_methods.attach(
        "pm_card_authenticationRequired", {"customer": customer.id}
    )
    client.v1.subscriptions.update(sub.id, {"default_payment_method": three_ds.id})
    one_time = client.v1.prices.create(
        {"product": _product_of(client, prices["basic"]), "currency": "usd", "unit_amount": 10}
    )
    added: Any = [
        {
            "price_data": {
                "currency": "usd",
                "product": _product_of(client, prices["basic"]),
                "unit_amount": 500,
            },
            "metadata": {"charge": "overage"},
        },
        {"price": one_time.id, "quantity": 3},
    ]
    updated = client.v1.subscriptions.update(
        sub.id,
        {
            "items": [{"id": sub["items"].data[0].id, "price": prices["pro"]}],
            "proration_behavior": "always_invoice",
            "payment_behavior": "pending_if_incomplete",
            "add_invoice_items": added,
            "expand": ["latest_invoice"],
        },
    )

    # Nothing applied yet; one open invoice carries the prorations and both added items.
    assert updated["items"].data[0].price.id == prices["basic"]
    assert updated.pending_update.subscription_items[0].price.id == prices["pro"]
    invoice = client.v1.invoices.retrieve(updated.latest_invoice.id)
    assert invoice.status == "open"
    lines = _lines(invoice)
    assert [(amount, meta) for amount, proration, meta in lines if not proration] == [
        (30, {}),
        (500, {"charge": "overage"}),
    ]
    prorations = sum(amount for amount, proration, _meta in lines if proration)
    assert invoice.total == prorations + 530
    [period_item] = updated["items"].data
    ours = [
        i for i in client.v1.invoice_items.list({"customer": customer.id}).data if not i.proration
    ]
    assert {(i.period.start, i.period.end) for i in ours} == {
        (period_item.current_period_start, period_item.current_period_end)
    }

    paid = httpx.post(invoice.hosted_invoice_url, data={"action": "authenticate"})
    assert paid.status_code == 200
    applied = client.v1.subscriptions.retrieve(sub.id)
    assert applied.pending_update is None
    assert applied["items"].data[0].price.id == prices["pro"]
    assert client.v1.invoices.retrieve(invoice.id).amount_paid == invoice.total
    # Billed once: nothing of them is left pending for the next invoice.
    assert client.v1.invoice_items.list({"customer": customer.id, "pending": True}).data == []


def test_an_update_that_invoices_nothing_now_leaves_its_added_items_for_the_next_invoice(
    client: stripe.StripeClient, prices: dict[str, str]
) -> None:
    customer = _customer(client)
    sub = _subscribed(client, customer, prices["basic"])
    updated = client.v1.subscriptions.update(
        sub.id,
        {
            "items": [{"id": sub["items"].data[0].id, "price": prices["pro"]}],
            "proration_behavior": "none",
            "payment_behavior": "pending_if_incomplete",
            "add_invoice_items": [
                {
                    "price_data": {
                        "currency": "usd",
                        "product": _product_of(client, prices["basic"]),
                        "unit_amount": 500,
                    }
                }
            ],
        },
    )
    assert updated["items"].data[0].price.id == prices["pro"]
    assert updated.latest_invoice == sub.latest_invoice
    [pending] = client.v1.invoice_items.list({"customer": customer.id, "pending": True}).data
    assert (pending.amount, pending.parent.subscription_details.subscription) == (500, sub.id)


def test_a_refused_update_keeps_none_of_its_added_items(
    client: stripe.StripeClient, prices: dict[str, str]
) -> None:
    customer = _customer(client)
    sub = _subscribed(client, customer, prices["basic"])
    failing = client.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", {"customer": customer.id}
    )
    client.v1.subscriptions.update(sub.id, {"default_payment_method": failing.id})
    with pytest.raises(stripe.CardError):
        client.v1.subscriptions.update(
            sub.id,
            {
                "items": [{"id": sub["items"].data[0].id, "price": prices["pro"]}],
                "proration_behavior": "always_invoice",
                "payment_behavior": "error_if_incomplete",
                "add_invoice_items": [
                    {
                        "price_data": {
                            "currency": "usd",
                            "product": _product_of(client, prices["basic"]),
                            "unit_amount": 500,
                        }
                    }
                ],
            },
        )
    assert client.v1.invoice_items.list({"customer": customer.id, "pending": True}).data == []


@pytest.mark.parametrize(
    ("added", "param"),
    [
        ([{"price_data": {"currency": "usd", "unit_amount": 5}}], "[price_data][product]"),
        ([{"quantity": 2}], "[price]"),
        ([{"price_data": {"currency": "usd", "product": "prod_x", "recurring": {}}}], None),
    ],
    ids=["price_data_without_product", "neither_price_nor_price_data", "recurring_price_data"],
)
def test_bad_added_items_are_refused_naming_the_field(
    client: stripe.StripeClient, prices: dict[str, str], added: Any, param: str | None
) -> None:
    customer = _customer(client)
    sub = _subscribed(client, customer, prices["basic"])
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.subscriptions.update(sub.id, {"add_invoice_items": added})
    assert str(refused.value.param).startswith("add_invoice_items[0]")
    if param is not None:
        assert refused.value.param == f"add_invoice_items[0]{param}"
    assert client.v1.invoice_items.list({"customer": customer.id}).data == []


def test_a_recurring_price_is_refused_as_an_added_item(
    client: stripe.StripeClient, prices: dict[str, str]
) -> None:
    customer = _customer(client)
    sub = _subscribed(client, customer, prices["basic"])
    with pytest.raises(stripe.InvalidRequestError, match="type=one_time"):
        client.v1.subscriptions.update(sub.id, {"add_invoice_items": [{"price": prices["pro"]}]})


def test_a_renewal_does_not_apply_a_pending_update_which_lapses_at_its_expiry(
    client: stripe.StripeClient, emulator: Any, prices: dict[str, str]
) -> None:
    clock = client.v1.test_helpers.test_clocks.create({"frozen_time": 1_780_000_000})
    customer = client.v1.customers.create(
        {
            "test_clock": clock.id,
            "payment_method": "pm_card_chargeCustomerFail",
            "invoice_settings": {"default_payment_method": "pm_card_chargeCustomerFail"},
        }
    )
    visa = client.v1.payment_methods.attach("pm_card_visa", {"customer": customer.id})
    sub = client.v1.subscriptions.create(
        {
            "billing_mode": CLASSIC_BILLING,
            "customer": customer.id,
            "items": [{"price": prices["basic"]}],
            "default_payment_method": visa.id,
        }
    )
    declining = client.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", {"customer": customer.id}
    )
    client.v1.subscriptions.update(sub.id, {"default_payment_method": declining.id})
    declined = client.v1.subscriptions.update(
        sub.id,
        {
            "items": [{"id": sub["items"].data[0].id, "price": prices["pro"]}],
            "proration_behavior": "always_invoice",
            "payment_behavior": "pending_if_incomplete",
        },
    )
    assert declined.pending_update is not None
    client.v1.subscriptions.update(sub.id, {"default_payment_method": visa.id})

    end = sub["items"].data[0].current_period_end
    wait_until_ready(
        client, client.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": end + 7200}).id
    )

    renewed = client.v1.subscriptions.retrieve(sub.id)
    # The renewal billed the plan held and was paid; the change it never paid is gone.
    assert renewed["items"].data[0].price.id == prices["basic"]
    assert renewed.pending_update is None
    assert client.v1.invoices.retrieve(renewed.latest_invoice).amount_paid == 1000
    assert [
        e["data"]["object"]["id"]
        for e in emulator.events("customer.subscription.pending_update_expired")
    ] == [sub.id]
