"""Money scenarios where Autumn bills differently from a naive port: a prepaid-only plan
bought at quantity 0, and an upgrade charged to the customer's current default card."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from local.stack import LocalStack
from tests.conftest import stripe_client
from tests.integration.test_attach_api import attach, catalog, customer, webhooks, with_card_on_file

pytestmark = pytest.mark.slow

__all__ = ["catalog", "webhooks"]  # fixtures used here

SEATS = {"feature_id": "seats", "name": "Seats", "type": "metered", "consumable": False}
# Nothing but seats bought up front: 10 a month per package of 5, none included.
SEAT_PACKS = {
    "plan_id": "seat_packs",
    "name": "Seat packs",
    "group": "seats",
    "items": [
        {
            "feature_id": "seats",
            "included": 0,
            "price": {
                "amount": 10,
                "billing_units": 5,
                "billing_method": "prepaid",
                "interval": "month",
            },
        }
    ],
}


def test_a_prepaid_only_plan_bought_at_quantity_zero_is_held_with_a_balance_of_zero(
    catalog: httpx.Client, webhooks: LocalStack
) -> None:
    """Autumn's new-plan prepaid scenario: attached with quantity 0, the plan is active with
    nothing granted, and its first invoice is $0 (the prepaid item at quantity 0)."""
    assert catalog.post("/v1/features.create", json=SEATS).status_code == 200
    assert catalog.post("/v1/plans.create", json=SEAT_PACKS).status_code == 200
    stripe_customer = with_card_on_file(catalog, webhooks, "pm_card_visa")

    answer = attach(
        catalog, plan_id="seat_packs", feature_quantities=[{"feature_id": "seats", "quantity": 0}]
    )

    assert answer.status_code == 200, answer.text
    held = customer(catalog)
    assert [(s["plan_id"], s["status"]) for s in held["subscriptions"]] == [
        ("seat_packs", "active")
    ]
    seats = held["balances"]["seats"]
    assert (seats["granted"], seats["remaining"], seats["usage"]) == (0, 0, 0)
    stripe = stripe_client(webhooks)
    (subscription,) = stripe.v1.subscriptions.list({"customer": stripe_customer}).data
    assert [(i.price.unit_amount, i.quantity) for i in subscription["items"].data] == [(1000, 0)]
    invoices = stripe.v1.invoices.list({"customer": stripe_customer}).data
    assert [(i.status, Decimal(i.total) / 100) for i in invoices] == [("paid", Decimal(0))]

    # Buying seats later charges them on that subscription.
    bought = catalog.post(
        "/v1/billing.update",
        json={
            "customer_id": "c1",
            "plan_id": "seat_packs",
            "feature_quantities": [{"feature_id": "seats", "quantity": 10}],
        },
    )
    assert bought.status_code == 200, bought.text
    assert customer(catalog)["balances"]["seats"]["granted"] == 10


def test_a_prepaid_only_plan_at_quantity_zero_needs_no_card_and_no_checkout(
    catalog: httpx.Client, webhooks: LocalStack
) -> None:
    """Nothing is due: the subscription is made at once, $0, without a checkout page (which
    takes no item at quantity 0)."""
    assert catalog.post("/v1/features.create", json=SEATS).status_code == 200
    assert catalog.post("/v1/plans.create", json=SEAT_PACKS).status_code == 200

    answer = attach(
        catalog,
        plan_id="seat_packs",
        success_url="https://example.test/done",
        feature_quantities=[{"feature_id": "seats", "quantity": 0}],
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["payment_url"] is None
    held = customer(catalog)
    assert [s["plan_id"] for s in held["subscriptions"]] == ["seat_packs"]
    assert held["balances"]["seats"]["granted"] == 0
