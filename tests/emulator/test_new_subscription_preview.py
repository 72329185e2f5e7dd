"""invoices.create_preview of a subscription that does not exist yet: its first invoice."""

import pytest
import stripe

from tests.emulator.conftest import CLASSIC_BILLING

DAY = 86400
START = 1_780_000_000


def test_the_first_invoice_of_a_new_subscription_is_previewed(client, emulator, prices):
    customer = client.v1.customers.create({"email": "new@example.com"})
    before = emulator.counts()
    preview = client.v1.invoices.create_preview(
        {
            "customer": customer.id,
            "subscription_details": {
                "billing_mode": CLASSIC_BILLING,
                "items": [{"price": prices["basic"], "quantity": 2}, {"price": prices["pro"]}],
            },
        }
    )
    assert [(line.amount, line.quantity) for line in preview.lines.data] == [(2000, 2), (3000, 1)]
    assert (preview.total, preview.amount_due, preview.currency) == (5000, 5000, "usd")
    assert preview.customer == customer.id
    assert preview.id.startswith("upcoming_")
    line = preview.lines.data[0]
    assert line.parent.subscription_item_details.proration is False
    assert line.period.end - line.period.start in {d * DAY for d in (28, 29, 30, 31)}
    assert emulator.counts() == before, "a preview stores nothing"


def test_a_future_start_date_previews_the_period_from_that_date(client, prices):
    clock = client.v1.test_helpers.test_clocks.create({"frozen_time": START})
    customer = client.v1.customers.create({"test_clock": clock.id})
    start = START + 10 * DAY
    preview = client.v1.invoices.create_preview(
        {
            "customer": customer.id,
            "subscription_details": {
                "billing_mode": CLASSIC_BILLING,
                "items": [{"price": prices["yearly"]}],
                "start_date": start,
            },
        }
    )
    [line] = preview.lines.data
    assert (line.amount, line.period.start) == (10000, start)
    assert line.period.end - start in (365 * DAY, 366 * DAY)


def test_bad_new_subscription_details_are_refused_by_name(client, prices):
    customer = client.v1.customers.create({})
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.invoices.create_preview(
            {"customer": customer.id, "subscription_details": {"start_date": START}}
        )
    assert missing.value.param == "subscription_details[items]"
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.invoices.create_preview(
            {
                "customer": customer.id,
                "subscription_details": {
                    "items": [{"price": prices["basic"]}],
                    "cancel_at_period_end": True,
                },
            }
        )
    assert unknown.value.param == "subscription_details[cancel_at_period_end]"


def test_a_preview_takes_the_customer_credit_balance_off_what_is_due(client, prices):
    """Stripe applies a customer's credit balance before it settles what an invoice asks
    for; a preview, not finalized, starts from the balance as it is and has no ending one."""
    customer = client.v1.customers.create({"balance": -3500})
    details = {"billing_mode": CLASSIC_BILLING, "items": [{"price": prices["basic"]}]}
    preview = client.v1.invoices.create_preview(
        {"customer": customer.id, "subscription_details": details}
    )
    assert (preview.total, preview.starting_balance, preview.ending_balance) == (
        1000,
        -3500,
        None,
    )
    assert (preview.amount_due, preview.amount_remaining) == (0, 0)
    smaller = client.v1.customers.update(customer.id, {"balance": -400})
    preview = client.v1.invoices.create_preview(
        {"customer": smaller.id, "subscription_details": details}
    )
    assert (preview.total, preview.amount_due) == (1000, 600)
    assert client.v1.customers.retrieve(customer.id).balance == -400, "a preview moves nothing"
