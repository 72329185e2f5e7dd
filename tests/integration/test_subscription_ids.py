"""A held paid plan is driven only by the Stripe subscription that bills it (found by its
ids, never by price): a second subscription selling the same price, made in Stripe's
dashboard, changes nothing here; an add-on's own subscription renews, and fails, alone."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from billing.store import keys
from billing.stripe_api.objects import classic_billing
from local.stack import LocalStack
from tests.conftest import stripe_client, table_items
from tests.integration.test_attach_api import with_card_on_file
from tests.integration.test_stripe_lifecycle import overage_lines, use
from tests.lifecycle import PRO, paid_pro_customer
from tests.stripe_clocks import advance as advance_clock

DAY = 86400
SUPPORT = {
    "plan_id": "support",
    "name": "Support",
    "add_on": True,
    "price": {"amount": 10, "interval": "month"},
    "items": [{"feature_id": "calls", "included": 5}],
}


def customer(api: httpx.Client) -> dict[str, Any]:
    answer: dict[str, Any] = api.post("/v1/customers.get", json={"customer_id": "c1"}).json()
    return answer


def held(api: httpx.Client) -> dict[str, dict[str, Any]]:
    return {s["plan_id"]: s for s in customer(api)["subscriptions"]}


def test_a_subscription_made_in_stripe_with_the_plans_price_never_drives_the_attached_plan(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    subscribed = paid_pro_customer(api, clean_stack, "pm_card_visa")
    stripe = stripe_client(clean_stack)
    attached = stripe.v1.subscriptions.retrieve(subscribed["subscription"])
    price = attached["items"].data[0].price.id
    # An operator sells the same price again from Stripe's dashboard.
    other = stripe.v1.subscriptions.create(
        {
            "billing_mode": classic_billing(),
            "customer": subscribed["stripe_id"],
            "items": [{"price": price}],
        }
    )
    before = held(api)["pro"]

    stripe.v1.subscriptions.update(other.id, {"cancel_at_period_end": True})
    assert held(api)["pro"] == before, "another subscription's cancellation is not the plan's"
    stripe.v1.subscriptions.cancel(other.id)

    pro = held(api)["pro"]
    assert (pro["status"], pro["canceled_at"], pro["expires_at"]) == ("active", None, None)
    assert customer(api)["balances"]["messages"]["granted"] == 100
    assert stripe.v1.subscriptions.retrieve(subscribed["subscription"]).status == "active"

    # The plan's own subscription still drives it.
    stripe.v1.subscriptions.cancel(subscribed["subscription"])
    assert "pro" not in held(api)


class WithAddOn:
    """c1 holds the support add-on (its own Stripe subscription, attached first) and, ten
    days later, pro with usage-based messages: the add-on renews mid-way through pro's
    period."""

    def __init__(self, api: httpx.Client, stack: LocalStack, card: str) -> None:
        for feature in ("messages", "calls"):
            body = {"feature_id": feature, "name": feature, "type": "metered"}
            assert api.post("/v1/features.create", json=body).status_code == 200
        for plan in (PRO, SUPPORT):
            assert api.post("/v1/plans.create", json=plan).status_code == 200
        self.stripe = stripe_client(stack)
        self.stripe_customer = with_card_on_file(api, stack, card)
        self.clock = self.stripe.v1.customers.retrieve(self.stripe_customer).test_clock
        self.start = self.stripe.v1.test_helpers.test_clocks.retrieve(self.clock).frozen_time
        bought = api.post("/v1/billing.attach", json={"customer_id": "c1", "plan_id": "support"})
        assert bought.json()["invoice"]["status"] == "paid", bought.text
        (self.add_on,) = self.stripe.v1.subscriptions.list({"customer": self.stripe_customer}).data
        self.advance(self.start + 10 * DAY)
        self.card_for_pro(api, "pm_card_visa")
        bought = api.post("/v1/billing.attach", json={"customer_id": "c1", "plan_id": "pro"})
        assert bought.json()["invoice"]["status"] == "paid", bought.text
        listed = self.stripe.v1.subscriptions.list({"customer": self.stripe_customer}).data
        (self.pro,) = [s for s in listed if s.id != self.add_on.id]

    def card_for_pro(self, api: httpx.Client, card: str) -> None:
        method = self.stripe.v1.payment_methods.attach(card, {"customer": self.stripe_customer})
        self.stripe.v1.customers.update(
            self.stripe_customer, {"invoice_settings": {"default_payment_method": method.id}}
        )

    def advance(self, to: int) -> None:
        advance_clock(self.stripe, self.clock, to)

    def add_on_renewal(self) -> Any:
        latest = self.stripe.v1.subscriptions.retrieve(self.add_on.id).latest_invoice
        return self.stripe.v1.invoices.retrieve(latest)


@pytest.mark.slow
def test_an_add_ons_renewal_closes_only_its_own_period(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    bought = WithAddOn(api, clean_stack, "pm_card_visa")
    use(api, 130)
    pro_before = held(api)["pro"]

    bought.advance(bought.add_on["items"].data[0].current_period_end + DAY)

    renewal = bought.add_on_renewal()
    assert (renewal.billing_reason, renewal.status, renewal.total) == (
        "subscription_cycle",
        "paid",
        1000,
    )
    assert overage_lines(renewal) == [], "pro's overage is not the add-on's to bill"
    messages = customer(api)["balances"]["messages"]
    assert (messages["usage"], messages["remaining"]) == (130, 0), "pro's period goes on"
    pro = held(api)["pro"]
    assert pro["current_period_start"] == pro_before["current_period_start"]
    assert held(api)["support"]["current_period_start"] > pro["current_period_start"]


@pytest.mark.slow
def test_a_failed_add_on_renewal_marks_only_the_add_on_past_due(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    bought = WithAddOn(api, clean_stack, "pm_card_visa")
    failing = bought.stripe.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", {"customer": bought.stripe_customer}
    )
    bought.stripe.v1.subscriptions.update(bought.add_on.id, {"default_payment_method": failing.id})

    bought.advance(bought.add_on["items"].data[0].current_period_end + DAY)

    assert bought.add_on_renewal().status == "open"
    now = held(api)
    assert (now["support"]["past_due"], now["pro"]["past_due"]) == (True, False)


def test_held_paid_plans_record_the_stripe_subscription_that_bills_them(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    """The ids are kept in the table (the API answer does not show them)."""
    subscribed = paid_pro_customer(api, clean_stack, "pm_card_visa")

    (pro,) = [
        json.loads(item["body"]["S"])
        for item in table_items(clean_stack)
        if item["SK"]["S"].startswith(keys.SUBSCRIPTION)
    ]
    stripe = stripe_client(clean_stack)
    billing = stripe.v1.subscriptions.retrieve(subscribed["subscription"])
    assert pro["stripe_subscription_id"] == subscribed["subscription"]
    assert pro["stripe_item_ids"] == [i.id for i in billing["items"].data]
