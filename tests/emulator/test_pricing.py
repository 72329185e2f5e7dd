"""What the emulator charges: tiered prices (graduated and volume, with flat amounts),
``unit_amount_decimal`` multiplied exactly and rounded once per line (half a cent up, as
Stripe's decimal-amounts page shows with 0.05 x 30 = 1.5 -> 2), on every path that
computes an amount, and the amounts Stripe refuses.

The worked examples are those of Stripe's pricing docs: graduated 15 units of
[<=10: 100 each + 200 flat, then 50 each] = 1450; volume 15 units at 50 + 300 flat = 1050.
"""

from decimal import ROUND_HALF_UP, Decimal

import httpx
import pytest
import stripe

from tests.emulator.conftest import CLASSIC_BILLING

# Graduated: 10 x 100 + 200 + 5 x 50 = 1450 for 15 units; 1700 for 20.
GRADUATED = [
    {"up_to": 10, "unit_amount": 100, "flat_amount": 200},
    {"up_to": "inf", "unit_amount": 50},
]
# Volume: 15 units fall in the second tier, all of them at 50, plus its flat 300 = 1050.
VOLUME = [
    {"up_to": 10, "unit_amount": 100},
    {"up_to": "inf", "unit_amount": 50, "flat_amount": 300},
]


@pytest.fixture
def product(client):
    return client.v1.products.create({"name": "Seats"})


@pytest.fixture
def customer(client):
    return client.v1.customers.create(
        {
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )


def _tiered(client, product, mode, tiers):
    return client.v1.prices.create(
        {
            "currency": "usd",
            "product": product.id,
            "billing_scheme": "tiered",
            "tiers_mode": mode,
            "tiers": tiers,
            "recurring": {"interval": "month"},
        }
    ).id


def _decimal(client, product, amount, recurring=True):
    params = {"currency": "usd", "product": product.id, "unit_amount_decimal": amount}
    if recurring:
        params["recurring"] = {"interval": "month"}
    return client.v1.prices.create(params).id


def _subscribe(client, customer, price, quantity, **extra):
    return client.v1.subscriptions.create(
        {
            "billing_mode": CLASSIC_BILLING,
            "customer": customer.id,
            "items": [{"price": price, "quantity": quantity}],
            "expand": ["latest_invoice"],
            **extra,
        }
    )


def _prorated(amount, at, start, end):
    """Stripe's proration of one line: the exact amount times the unused share of the
    period (by the second), rounded once, half a cent away from zero."""
    exact = Decimal(amount) * Decimal(end - at) / Decimal(end - start)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def test_graduated_tiers_price_the_first_invoice_and_the_renewal(client, product, customer):
    price = _tiered(client, product, "graduated", GRADUATED)
    sub = _subscribe(client, customer, price, 15)
    invoice = sub.latest_invoice
    assert (invoice.status, invoice.amount_paid) == ("paid", 1450)
    assert [line.amount for line in invoice.lines.data] == [1450]

    # A trial ended now is renewed through the same path as a period's end.
    trial = _subscribe(client, customer, price, 15, trial_period_days=7)
    assert trial.latest_invoice.amount_due == 0
    renewed = client.v1.subscriptions.update(
        trial.id, {"trial_end": "now", "expand": ["latest_invoice"]}
    )
    renewal = renewed.latest_invoice
    assert (renewal.billing_reason, renewal.amount_paid) == ("subscription_cycle", 1450)


def test_volume_tiers_price_subscriptions_and_invoice_items(client, product, customer):
    price = _tiered(client, product, "volume", VOLUME)
    assert _subscribe(client, customer, price, 15).latest_invoice.amount_paid == 1050
    item = client.v1.invoice_items.create(
        {"customer": customer.id, "pricing": {"price": price}, "quantity": 15}
    )
    assert item.amount == 1050


def test_decimal_prices_are_multiplied_exactly_and_rounded_once_per_line(client, product, customer):
    # 3 x 12.5 = 37.5 cents, charged as one line of 38: not 3 x 13 = 39, nor 36, nor 0.
    recurring = _decimal(client, product, "12.5")
    invoice = _subscribe(client, customer, recurring, 3).latest_invoice
    assert [line.amount for line in invoice.lines.data] == [38]
    assert invoice.amount_paid == 38

    # Sub-cent prices are charged: 30 x 0.05 = 1.5 -> 2 (Stripe's own example).
    sub_cent = _decimal(client, product, "0.05", recurring=False)
    item = client.v1.invoice_items.create(
        {"customer": customer.id, "pricing": {"price": sub_cent}, "quantity": 30}
    )
    assert item.amount == 2
    # The quantity changed on a pending item: the amount follows, exactly (60 x 0.05 = 3).
    changed = client.v1.invoice_items.update(item.id, {"quantity": 60})
    assert changed.amount == 3


def test_prorations_and_previews_of_tiered_and_decimal_prices_are_charged(
    client, product, customer
):
    tiered = _tiered(client, product, "graduated", GRADUATED)
    decimal = _decimal(client, product, "12.5")
    sub = client.v1.subscriptions.create(
        {
            "billing_mode": CLASSIC_BILLING,
            "customer": customer.id,
            "items": [{"price": tiered, "quantity": 15}, {"price": decimal, "quantity": 3}],
        }
    )
    tiered_item, decimal_item = sub["items"].data
    start, end = tiered_item.current_period_start, tiered_item.current_period_end
    at = start + (end - start) // 3
    change = [
        {"id": tiered_item.id, "quantity": 20},
        {"id": decimal_item.id, "quantity": 5},
    ]
    expected = sorted(
        [
            -_prorated(1450, at, start, end),
            _prorated(1700, at, start, end),
            -_prorated(Decimal("37.5"), at, start, end),
            _prorated(Decimal("62.5"), at, start, end),
        ]
    )

    preview = client.v1.invoices.create_preview(
        {
            "subscription": sub.id,
            "subscription_details": {
                "items": change,
                "proration_behavior": "always_invoice",
                "proration_date": at,
            },
        }
    )
    assert sorted(line.amount for line in preview.lines.data) == expected
    # The next invoice previewed: the prorations plus the next period at the new quantities.
    upcoming = client.v1.invoices.create_preview(
        {"subscription": sub.id, "subscription_details": {"items": change, "proration_date": at}}
    )
    assert sorted(line.amount for line in upcoming.lines.data) == sorted([*expected, 1700, 63])

    updated = client.v1.subscriptions.update(
        sub.id,
        {
            "items": change,
            "proration_behavior": "always_invoice",
            "proration_date": at,
            "expand": ["latest_invoice"],
        },
    )
    invoice = updated.latest_invoice
    assert sorted(line.amount for line in invoice.lines.data) == expected
    assert invoice.total == sum(expected) == preview.total


def test_checkout_charges_a_tiered_price_and_its_invoice_bills_the_same(client, product):
    buyer = client.v1.customers.create({"email": "buyer@example.com"})
    price = _tiered(client, product, "graduated", GRADUATED)
    session = client.v1.checkout.sessions.create(
        {
            "mode": "subscription",
            "subscription_data": {"billing_mode": CLASSIC_BILLING},
            "customer": buyer.id,
            "line_items": [{"price": price, "quantity": 15}],
            "success_url": "https://app.example/done",
        }
    )
    assert (session.amount_subtotal, session.amount_total) == (1450, 1450)
    paid = httpx.post(session.url, data={"card_number": "4242 4242 4242 4242"})
    assert paid.status_code == 303
    done = client.v1.checkout.sessions.retrieve(session.id)
    invoice = client.v1.invoices.retrieve(done.invoice)
    assert (invoice.status, invoice.amount_paid) == ("paid", 1450)


def test_checkout_rounds_a_decimal_price_once_per_line_half_up(client, product):
    buyer = client.v1.customers.create({"email": "buyer@example.com"})
    # 5 x 12.5 = 62.5: half a cent rounds up to 63 (half-to-even would give 62).
    price = _decimal(client, product, "12.5", recurring=False)
    session = client.v1.checkout.sessions.create(
        {
            "mode": "payment",
            "customer": buyer.id,
            "line_items": [{"price": price, "quantity": 5}],
            "success_url": "https://app.example/done",
        }
    )
    assert session.amount_total == 63


def test_pending_if_incomplete_with_create_prorations_leaves_the_prorations_pending(
    client, prices, customer
):
    """Stripe makes an invoice on an update only for a first payment, a new billing period
    or ``always_invoice``: ``create_prorations`` leaves the prorations for the next invoice,
    so the change applies at once with nothing to pay, and no pending update."""
    sub = _subscribe(client, customer, prices["basic"], 1)
    first = sub.latest_invoice.id
    updated = client.v1.subscriptions.update(
        sub.id,
        {
            "items": [{"id": sub["items"].data[0].id, "price": prices["pro"]}],
            "payment_behavior": "pending_if_incomplete",
            "proration_behavior": "create_prorations",
        },
    )
    assert updated.latest_invoice == first
    assert updated.pending_update is None
    assert updated["items"].data[0].price.id == prices["pro"]
    pending = client.v1.invoice_items.list({"customer": customer.id, "pending": True}).data
    assert len(pending) == 2
    assert all(item.proration for item in pending)
    assert client.v1.invoices.list({"customer": customer.id}).data[0].id == first


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"unit_amount": 100_000_000}, "unit_amount"),
        ({"unit_amount_decimal": "100000000"}, "unit_amount_decimal"),
        (
            {
                "billing_scheme": "tiered",
                "tiers_mode": "graduated",
                "tiers": [{"up_to": "inf", "unit_amount": 1, "flat_amount": 100_000_000}],
            },
            "tiers[0][flat_amount]",
        ),
        (
            {
                "billing_scheme": "tiered",
                "tiers_mode": "graduated",
                "tiers": [{"up_to": "inf", "unit_amount_decimal": "100000000.5"}],
            },
            "tiers[0][unit_amount_decimal]",
        ),
    ],
)
def test_prices_above_stripes_maximum_amount_are_refused(client, emulator, product, params, param):
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.prices.create(
            {"currency": "usd", "product": product.id, "recurring": {"interval": "month"}} | params
        )
    assert (raised.value.param, raised.value.error.type) == (param, "invalid_request_error")
    assert emulator.count("price") == 0


def test_lines_above_stripes_maximum_amount_are_refused(client, emulator, product, customer):
    price = _decimal(client, product, "99999999")
    with pytest.raises(stripe.InvalidRequestError) as raised:
        _subscribe(client, customer, price, 2)
    assert (raised.value.code, raised.value.param) == ("amount_too_large", "items[0][quantity]")
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.invoice_items.create(
            {"customer": customer.id, "pricing": {"price": price}, "quantity": 2}
        )
    assert (raised.value.code, raised.value.param) == ("amount_too_large", "quantity")
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.invoice_items.create(
            {"customer": customer.id, "amount": 100_000_000, "currency": "usd"}
        )
    assert (raised.value.code, raised.value.param) == ("amount_too_large", "amount")
    assert (emulator.count("subscription"), emulator.count("invoiceitem")) == (0, 0)


def test_packages_and_metered_prices_are_charged_as_stripe_bills_them(
    client, emulator, product, customer
):
    # transform_quantity: 15 seats sold in packages of 10, rounded up = 2 packages of 1000.
    packaged = client.v1.prices.create(
        {
            "currency": "usd",
            "product": product.id,
            "unit_amount": 1000,
            "transform_quantity": {"divide_by": 10, "round": "up"},
            "recurring": {"interval": "month"},
        }
    ).id
    assert _subscribe(client, customer, packaged, 15).latest_invoice.amount_paid == 2000

    # A metered price bills reported usage at the period end, never a quantity up front.
    meter = "mtr_test_emulator"
    metered = client.v1.prices.create(
        {
            "currency": "usd",
            "product": product.id,
            "unit_amount": 500,
            "recurring": {"interval": "month", "usage_type": "metered", "meter": meter},
        }
    ).id
    with pytest.raises(stripe.InvalidRequestError) as raised:
        _subscribe(client, customer, metered, 3)
    assert raised.value.param == "items[0][quantity]"
    sub = client.v1.subscriptions.create(
        {
            "billing_mode": CLASSIC_BILLING,
            "customer": customer.id,
            "items": [{"price": metered}],
            "expand": ["latest_invoice"],
        }
    )
    assert (sub.status, sub.latest_invoice.amount_due) == ("active", 0)
    assert emulator.count("subscription") == 2


def test_one_time_prices_in_subscription_mode_checkout_are_charged_once_on_the_first_invoice(
    client, product
):
    buyer = client.v1.customers.create({"email": "buyer@example.com"})
    setup_fee = _decimal(client, product, "2500", recurring=False)
    monthly = _tiered(client, product, "graduated", GRADUATED)
    session = client.v1.checkout.sessions.create(
        {
            "mode": "subscription",
            "subscription_data": {"billing_mode": CLASSIC_BILLING},
            "customer": buyer.id,
            "line_items": [
                {"price": monthly, "quantity": 15},
                {"price": setup_fee, "quantity": 1},
            ],
            "success_url": "https://app.example/done",
        }
    )
    assert session.amount_total == 1450 + 2500
    assert httpx.post(session.url, data={"card_number": "4242 4242 4242 4242"}).status_code == 303
    done = client.v1.checkout.sessions.retrieve(session.id)
    invoice = client.v1.invoices.retrieve(done.invoice)
    assert (invoice.status, invoice.amount_paid) == ("paid", 3950)
    sub = client.v1.subscriptions.retrieve(done.subscription)
    # The fee is on the first invoice only: the subscription bills the monthly price alone.
    assert [item.price.id for item in sub["items"].data] == [monthly]


def test_add_invoice_items_refuses_recurring_prices(client, emulator, prices, customer):
    with pytest.raises(stripe.InvalidRequestError) as raised:
        _subscribe(
            client, customer, prices["basic"], 1, add_invoice_items=[{"price": prices["pro"]}]
        )
    assert raised.value.param == "add_invoice_items[0][price]"
    assert emulator.count("subscription") == 0
