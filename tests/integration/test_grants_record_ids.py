"""Every way a paid plan is granted records the Stripe subscription and items that bill it,
and a preview of a plan change reads that subscription (never another one selling the same
price), over the local stack and the Stripe emulator."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from billing.stripe_api.objects import classic_billing
from local.stack import LocalStack
from tests.conftest import stripe_client, table_items
from tests.integration.test_attach_api import (  # noqa: F401 (fixtures)
    SUCCESS_URL,
    attach,
    catalog,
    customer,
    pay_on_checkout_page,
    webhooks,
    with_card_on_file,
)


def held_subscriptions(stack: LocalStack) -> list[dict[str, Any]]:
    """The subscriptions held, as stored (with what the API does not show)."""
    return [
        json.loads(item["body"]["S"])
        for item in table_items(stack)
        if item["SK"]["S"].startswith("SUB#") and "body" in item
    ]


def test_a_checkout_found_paid_before_its_webhook_records_the_subscription_that_bills_it(
    catalog: httpx.Client,  # noqa: F811
    clean_stack: LocalStack,
) -> None:
    page = attach(catalog, plan_id="pro", success_url=SUCCESS_URL).json()["payment_url"]
    # Its webhooks late: the attach retried after paying is the first to learn of it.
    with clean_stack.stripe_webhooks_paused():
        pay_on_checkout_page(page, "4242424242424242")
        again = attach(catalog, plan_id="pro", success_url=SUCCESS_URL)

    # The card the page saved makes this attach another attempt, which finds the page paid.
    assert again.status_code == 409, again.text
    assert again.json()["code"] == "plan_already_attached"
    assert [s["plan_id"] for s in customer(catalog)["subscriptions"]] == ["pro"]
    stripe = stripe_client(clean_stack)
    (subscription,) = stripe.v1.subscriptions.list({"customer": customer(catalog)["stripe_id"]})
    (pro,) = [s for s in held_subscriptions(clean_stack) if s["plan_id"] == "pro"]
    assert pro["stripe_subscription_id"] == subscription.id
    assert pro["stripe_item_ids"] == [item.id for item in subscription["items"].data]


@pytest.mark.billing_drift_expected(["I3"], "an operator sells the plan's price in Stripe")
def test_a_preview_of_an_upgrade_prorates_the_subscription_the_plan_recorded(
    catalog: httpx.Client,  # noqa: F811
    webhooks: LocalStack,  # noqa: F811
) -> None:
    stripe_customer = with_card_on_file(catalog, webhooks, "pm_card_visa")
    assert attach(catalog, plan_id="pro").json()["invoice"]["status"] == "paid"
    stripe = stripe_client(webhooks)
    (attached,) = stripe.v1.subscriptions.list({"customer": stripe_customer}).data
    # An operator sells the same price again, three of it, from Stripe's dashboard.
    price = attached["items"].data[0].price.id
    stripe.v1.subscriptions.create(
        {
            "billing_mode": classic_billing(),
            "customer": stripe_customer,
            "items": [{"price": price, "quantity": 3}],
        }
    )

    body = catalog.post(
        "/v1/billing.preview_attach", json={"customer_id": "c1", "plan_id": "premium"}
    ).json()

    credit = [line["total"] for line in body["line_items"] if line["total"] < 0]
    assert len(credit) == 1
    assert -20 <= credit[0] < 0, "the unused time of the one pro held, not of three"
    assert 0 < body["total"] <= 30
