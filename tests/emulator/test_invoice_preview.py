"""Invoice previews (``POST /v1/invoices/create_preview``): what a subscription change would
invoice, with Stripe's numbers, and nothing stored."""

import pytest
import stripe

from tests.emulator.conftest import CLASSIC_BILLING


@pytest.fixture
def subscribed(client, prices):
    customer = client.v1.customers.create(
        {
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )
    return client.v1.subscriptions.create(
        {
            "billing_mode": CLASSIC_BILLING,
            "customer": customer.id,
            "items": [{"price": prices["basic"], "quantity": 1}],
        }
    )


def _half_way(subscription):
    item = subscription["items"].data[0]
    start, end = item.current_period_start, item.current_period_end
    return start, end, start + (end - start) // 2


def _upgrade(subscription, price, **details):
    return {
        "subscription": subscription.id,
        "subscription_details": {
            "items": [{"id": subscription["items"].data[0].id, "price": price}],
            **details,
        },
    }


def test_an_always_invoice_preview_is_the_proration_the_change_then_charges(
    client, prices, subscribed
):
    start, end, at = _half_way(subscribed)

    preview = client.v1.invoices.create_preview(
        _upgrade(subscribed, prices["pro"], proration_behavior="always_invoice", proration_date=at)
    )

    fraction = (end - at) / (end - start)
    assert sorted(line.amount for line in preview.lines.data) == [
        -round(1000 * fraction),
        round(3000 * fraction),
    ]
    assert all(line.parent.invoice_item_details.proration for line in preview.lines.data)
    assert all(line.period.end == end for line in preview.lines.data)
    assert preview.id.startswith("upcoming_")
    changed = client.v1.subscriptions.update(
        subscribed.id,
        {
            "items": [{"id": subscribed["items"].data[0].id, "price": prices["pro"]}],
            "proration_behavior": "always_invoice",
            "proration_date": at,
            "expand": ["latest_invoice"],
        },
    )
    assert changed.latest_invoice.total == preview.total


def test_a_preview_stores_nothing_and_records_no_event(client, emulator, prices, subscribed):
    events_before = len(emulator.events())
    invoices_before = client.v1.invoices.list({"customer": subscribed.customer}).data

    client.v1.invoices.create_preview(
        _upgrade(subscribed, prices["pro"], proration_behavior="always_invoice")
    )

    assert len(emulator.events()) == events_before
    assert client.v1.invoices.list({"customer": subscribed.customer}).data == invoices_before
    assert client.v1.invoice_items.list({"customer": subscribed.customer}).data == []
    (item,) = client.v1.subscriptions.retrieve(subscribed.id)["items"].data
    assert item.price.id == prices["basic"], "the subscription is unchanged"


def test_the_default_preview_is_the_next_invoice_with_the_new_price_and_prorations(
    client, prices, subscribed
):
    start, end, at = _half_way(subscribed)

    preview = client.v1.invoices.create_preview(
        _upgrade(subscribed, prices["pro"], proration_date=at)
    )

    fraction = (end - at) / (end - start)
    prorations = [-round(1000 * fraction), round(3000 * fraction)]
    assert sorted(line.amount for line in preview.lines.data) == sorted([*prorations, 3000])
    assert preview.period_start == end
    assert preview.billing_reason == "upcoming"


def test_a_preview_without_prorations_is_the_next_period_at_the_new_price(
    client, prices, subscribed
):
    preview = client.v1.invoices.create_preview(
        _upgrade(subscribed, prices["pro"], proration_behavior="none")
    )

    assert [line.amount for line in preview.lines.data] == [3000]
    assert preview.total == 3000


def test_a_preview_of_an_unknown_subscription_or_price_is_refused(client, subscribed):
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.invoices.create_preview({"subscription": "sub_nope"})
    assert missing.value.code == "resource_missing"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.create_preview(_upgrade(subscribed, "price_nope"))


def test_a_customers_preview_carries_its_pending_items(client, subscribed):
    client.v1.invoice_items.create(
        {"customer": subscribed.customer, "amount": 700, "currency": "usd", "description": "x"}
    )

    preview = client.v1.invoices.create_preview({"customer": subscribed.customer})

    assert [(line.amount, line.description) for line in preview.lines.data] == [(700, "x")]
    (pending,) = client.v1.invoice_items.list({"customer": subscribed.customer}).data
    assert pending.invoice is None, "still pending: a preview takes nothing"
