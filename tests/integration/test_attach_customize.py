"""billing.attach with `customize`: a price and items of the plan for one customer's
purchase, as Autumn's custom plans (its attach customize scenarios, told as behaviour).

The customized terms are what the customer is charged, previewed, granted and renewed at,
billed by Stripe prices of their own (never the catalog's); every option of `customize` we
do not build, and `discounts`, answer 400 naming the field."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from local.stack import LocalStack
from tests.conftest import stripe_client
from tests.integration.test_attach_api import (
    PRO,
    SUCCESS_URL,
    attach,
    customer,
    pay_on_checkout_page,
    with_card_on_file,
)
from tests.stripe_clocks import advance as advance_clock

# Autumn's customize scenario: Pro ($20, 1000 messages) sold to one customer at $30 with
# 5000 messages.
CUSTOM = {
    "price": {"amount": 30, "interval": "month"},
    "items": [{"feature_id": "messages", "included": 5000}, {"feature_id": "sso"}],
}


@pytest.fixture
def catalog(api: httpx.Client) -> httpx.Client:
    for body in (
        {"feature_id": "messages", "name": "Messages", "type": "metered"},
        {"feature_id": "sso", "name": "SSO", "type": "boolean"},
    ):
        assert api.post("/v1/features.create", json=body).status_code == 200
    assert api.post("/v1/plans.create", json=PRO).status_code == 200
    assert api.post("/v1/customers.get_or_create", json={"customer_id": "c1"}).status_code == 200
    return api


def _on_test_clock(api: httpx.Client, stack: LocalStack) -> tuple[Any, str, int]:
    stripe = stripe_client(stack)
    start = int(time.time())
    clock = stripe.v1.test_helpers.test_clocks.create({"frozen_time": start})
    on_clock = stripe.v1.customers.create({"test_clock": clock.id})
    linked = api.post(
        "/v1/customers.get_or_create", json={"customer_id": "c1", "stripe_id": on_clock.id}
    )
    assert linked.status_code == 200
    with_card_on_file(api, stack, "pm_card_visa")
    return stripe, clock.id, start


def test_a_customized_price_and_items_are_charged_granted_and_renewed_at_the_custom_terms(
    catalog: httpx.Client, clean_stack: LocalStack
) -> None:
    stripe, clock_id, start = _on_test_clock(catalog, clean_stack)
    stripe_customer = customer(catalog)["stripe_id"]

    response = attach(catalog, plan_id="pro", customize=CUSTOM)

    assert response.status_code == 200, response.text
    assert (response.json()["invoice"]["status"], response.json()["invoice"]["total"]) == (
        "paid",
        30,
    )
    held = customer(catalog)
    assert [s["plan_id"] for s in held["subscriptions"]] == ["pro"]
    assert held["balances"]["messages"]["granted"] == 5000
    (subscription,) = stripe.v1.subscriptions.list({"customer": stripe_customer}).data
    (item,) = subscription["items"].data
    assert item.price.unit_amount == 3000
    catalog_prices = catalog.post("/v1/plans.get", json={"plan_id": "pro"}).json()
    assert catalog_prices["price"]["amount"] == 20, "the catalog's plan is unchanged"
    assert stripe.v1.prices.list({"lookup_keys": [item.price.lookup_key]}).data[0].id == (
        item.price.id
    )
    shown = catalog.post("/v1/plans.list", json={}).json()["list"]
    assert [(p["id"], p["version"]) for p in shown] == [("pro", 1)], "custom terms unlisted"

    advance_clock(stripe, clock_id, start + 32 * 24 * 3600)

    renewal = stripe.v1.invoices.list({"customer": stripe_customer}).data[0]
    assert (renewal.billing_reason, renewal.status, renewal.total) == (
        "subscription_cycle",
        "paid",
        3000,
    )
    assert customer(catalog)["balances"]["messages"]["granted"] == 5000


def test_a_customized_price_is_what_the_preview_shows(catalog: httpx.Client) -> None:
    response = catalog.post(
        "/v1/billing.preview_attach",
        json={"customer_id": "c1", "plan_id": "pro", "customize": {"price": CUSTOM["price"]}},
    )

    assert response.status_code == 200, response.text
    preview = response.json()
    assert preview["total"] == 30
    assert [line["total"] for line in preview["line_items"]] == [30]
    assert preview["incoming"][0]["plan"]["price"]["amount"] == 30
    assert preview["incoming"][0]["plan"]["version"] == 1


def test_a_customized_plan_paid_on_the_checkout_page_is_granted_at_the_custom_terms(
    catalog: httpx.Client, clean_stack: LocalStack
) -> None:
    answer = attach(catalog, plan_id="pro", customize=CUSTOM, success_url=SUCCESS_URL).json()
    session_id = answer["payment_url"].rstrip("/").rsplit("/", 1)[-1]

    paid = pay_on_checkout_page(answer["payment_url"], "4242 4242 4242 4242")

    assert paid.status_code == 303
    held = customer(catalog)
    assert [s["plan_id"] for s in held["subscriptions"]] == ["pro"]
    assert held["balances"]["messages"]["granted"] == 5000
    stripe = stripe_client(clean_stack)
    session = stripe.v1.checkout.sessions.retrieve(session_id)
    assert session.amount_total == 3000


def test_the_same_customized_attach_retried_opens_one_checkout(catalog: httpx.Client) -> None:
    first = attach(catalog, plan_id="pro", customize=CUSTOM, success_url=SUCCESS_URL).json()
    again = attach(catalog, plan_id="pro", customize=CUSTOM, success_url=SUCCESS_URL).json()

    assert first["payment_url"] == again["payment_url"]


def test_customize_with_the_price_removed_and_no_priced_item_grants_a_free_plan(
    catalog: httpx.Client,
) -> None:
    response = attach(
        catalog,
        plan_id="pro",
        customize={"price": None, "items": [{"feature_id": "messages", "included": 7}]},
    )

    assert response.status_code == 200, response.text
    assert response.json()["payment_url"] is None
    held = customer(catalog)
    assert [s["plan_id"] for s in held["subscriptions"]] == ["pro"]
    assert held["balances"]["messages"]["granted"] == 7
    assert "sso" not in held["flags"], "the items were replaced"


def test_customize_free_trial_wins_over_the_top_level_one(catalog: httpx.Client) -> None:
    response = attach(
        catalog,
        plan_id="pro",
        free_trial={"duration_length": 30, "duration_type": "day"},
        customize={"free_trial": {"duration_length": 7, "duration_type": "day"}},
    )

    assert response.status_code == 200, response.text
    (held,) = customer(catalog)["subscriptions"]
    trial_days = (held["trial_ends_at"] - held["started_at"]) / (24 * 3600 * 1000)
    assert round(trial_days) == 7


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"customize": {"add_items": [{"feature_id": "messages"}]}}, "customize.add_items"),
        ({"customize": {"remove_items": [{"feature_id": "sso"}]}}, "customize.remove_items"),
        ({"customize": {"billing_controls": {}}}, "customize.billing_controls"),
        ({"customize": {"upsert_licenses": []}}, "customize.upsert_licenses"),
        ({"customize": {"remove_licenses": []}}, "customize.remove_licenses"),
        (
            {"customize": {"items": [{"feature_id": "ghost", "included": 1}]}},
            "customize.items.0.feature_id",
        ),
        ({"discounts": [{"promotion_code": "SAVE20"}]}, "discounts"),
        ({"discounts": [{"reward_id": "r1"}]}, "discounts"),
    ],
)
def test_what_customize_or_discounts_cannot_do_is_a_400_naming_the_field(
    catalog: httpx.Client, body: dict[str, Any], field: str
) -> None:
    for route in ("/v1/billing.attach", "/v1/billing.preview_attach"):
        response = catalog.post(route, json={"customer_id": "c1", "plan_id": "pro", **body})

        assert response.status_code == 400, (route, response.text)
        assert response.json()["code"] == "invalid_inputs"
        assert [d["field"] for d in response.json()["details"]] == [field]
    assert customer(catalog)["subscriptions"] == []
