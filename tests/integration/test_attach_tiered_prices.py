"""A plan whose prepaid seats are priced by tiers is charged, in Stripe, what
billing.preview_attach shows: the emulator prices tiered Stripe prices as Stripe does
(it used to charge them 0, so the seats were granted for nothing)."""

from __future__ import annotations

from decimal import Decimal

import httpx

from local.stack import LocalStack
from tests.conftest import stripe_client
from tests.integration.test_attach_api import (  # noqa: F401 (fixtures)
    SEATS,
    attach,
    catalog,
    customer,
    webhooks,
    with_card_on_file,
)

# 15 seats graduated: 10 at 1 + 5 at 0.5 = 12.5, on a base of 10.
TIERED = {
    "plan_id": "tiered",
    "name": "Tiered",
    "price": {"amount": 10, "interval": "month"},
    "items": [
        {
            "feature_id": "seats",
            "included": 0,
            "price": {
                "billing_method": "prepaid",
                "interval": "month",
                "tiers": [{"to": 10, "amount": 1}, {"to": "inf", "amount": 0.5}],
                "tier_behavior": "graduated",
            },
        }
    ],
}


def test_tiered_prepaid_seats_are_charged_what_the_preview_shows(
    catalog: httpx.Client,  # noqa: F811
    webhooks: LocalStack,  # noqa: F811
) -> None:
    catalog.post("/v1/features.create", json=SEATS)
    assert catalog.post("/v1/plans.create", json=TIERED).status_code == 200
    stripe_customer = with_card_on_file(catalog, webhooks, "pm_card_visa")
    body = {"plan_id": "tiered", "feature_quantities": [{"feature_id": "seats", "quantity": 15}]}

    preview = catalog.post("/v1/billing.preview_attach", json={"customer_id": "c1", **body})
    answer = attach(catalog, **body).json()

    assert Decimal(str(preview.json()["total"])) == Decimal("22.5")
    assert (answer["invoice"]["status"], answer["invoice"]["total"]) == ("paid", 22.5)
    (invoice,) = stripe_client(webhooks).v1.invoices.list({"customer": stripe_customer}).data
    assert sorted(line.amount for line in invoice.lines.data) == [1000, 1250]
    assert customer(catalog)["balances"]["seats"]["granted"] == 15
