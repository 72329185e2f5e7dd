"""More of Autumn's billing scenarios, told as behaviour over the local stack and the Stripe
emulator (ported from useautumn/autumn server/tests/integration/billing/:
attach/new-plan/attach-one-off-zero-decimal, update-subscription/update-quantity/
volume-tiers-update-quantity, attach/immediate-switch/immediate-switch-reset-behavior
(consumable and prepaid), invoice-matched-credits (upgrade twice, without discounts)).
Helpers are shared with test_autumn_billing_scenarios.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from local.stack import LocalStack
from tests.conftest import stripe_client
from tests.integration.test_autumn_billing_scenarios import (
    attach,
    dollars,
    held,
    invoice_totals,
    packs,
    plan,
    plans_held,
    quantities,
    with_catalog,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def in_yen(clean_stack: LocalStack) -> Iterator[LocalStack]:
    """The stack deployed to charge in yen, a currency without minor units; the suite's
    currency comes back after."""
    before = os.environ.get("BILLING_CURRENCY", "")
    clean_stack.redeploy(BILLING_CURRENCY="jpy")
    yield clean_stack
    clean_stack.redeploy(BILLING_CURRENCY=before)


def test_a_one_off_plan_in_a_currency_without_cents_charges_its_price_in_whole_yen(
    api: httpx.Client, in_yen: LocalStack
) -> None:
    """attach-one-off-zero-decimal: ¥10 for the plan and one message pack at ¥23,188 is an
    invoice of ¥23,198 (Stripe counts yen in whole yen, not hundredths)."""
    one_off = {
        "plan_id": "pack",
        "name": "Pack",
        "price": {"amount": 10, "interval": "one_off"},
        "items": [
            {
                "feature_id": "messages",
                "included": 0,
                "price": {"amount": 23188, "billing_method": "prepaid", "interval": "one_off"},
            }
        ],
    }
    stripe_customer = with_catalog(api, in_yen, one_off)

    bought = attach(api, "pack", 1)

    assert dollars(bought["invoice"]["total"]) == Decimal(23198)
    customer = held(api)
    assert invoice_totals(customer) == [Decimal(23198)]
    (invoice,) = stripe_client(in_yen).v1.invoices.list({"customer": stripe_customer}).data
    assert (invoice.currency, invoice.total) == ("jpy", 23198)
    assert {i["currency"] for i in customer["invoices"]} == {"jpy"}


def volume_packs(included: int) -> dict[str, Any]:
    """Messages bought up front in packs of 100, every pack at its volume's price: $10 a
    pack up to 500 messages, $5 a pack for all of them past that."""
    return {
        "feature_id": "messages",
        "included": included,
        "reset": {"interval": "month"},
        "price": {
            "billing_units": 100,
            "billing_method": "prepaid",
            "interval": "month",
            "tiers": [{"to": 500, "amount": 10}, {"to": "inf", "amount": 5}],
            "tier_behavior": "volume",
        },
    }


@pytest.mark.parametrize(
    ("before", "after", "due"),
    [
        # 3 packs at $10 ($30) to 8 packs at $5 ($40); graduated would be $35 more.
        (300, 800, Decimal(10)),
        # 8 packs at $5 ($40) to 3 packs at $10 ($30); graduated would credit $35.
        (800, 300, Decimal(-10)),
    ],
    ids=["into_the_cheaper_tier", "back_to_the_dearer_tier"],
)
def test_a_new_quantity_under_volume_tiers_charges_the_difference_of_the_whole_prices(
    api: httpx.Client, clean_stack: LocalStack, before: int, after: int, due: Decimal
) -> None:
    """volume-tiers-update-quantity: crossing a tier reprices every pack, both ways."""
    with_catalog(api, clean_stack, plan("volume", 0, volume_packs(0)))
    attach(api, "volume", before)
    body = {"customer_id": "c1", "plan_id": "volume", "feature_quantities": quantities(after)}

    preview = api.post("/v1/billing.preview_update", json=body)
    updated = api.post("/v1/billing.update", json=body)

    assert preview.status_code == 200, preview.text
    assert dollars(preview.json()["total"]) == due
    assert updated.status_code == 200, updated.text
    assert dollars(updated.json()["invoice"]["total"]) == due
    customer = held(api)
    assert customer["balances"]["messages"]["granted"] == after
    first = Decimal(30) if before == 300 else Decimal(40)
    assert invoice_totals(customer) == sorted([first, due])


@pytest.mark.parametrize(
    ("pro", "premium", "premium_quantity", "granted"),
    [
        # 100 messages a month, 30 used, to 500 a month: the 500 are all left.
        (
            {"feature_id": "messages", "included": 100, "reset": {"interval": "month"}},
            {"feature_id": "messages", "included": 500, "reset": {"interval": "month"}},
            None,
            500,
        ),
        # 200 bought, 50 used, to 300 bought on Premium: the 300 are all left.
        (packs(100, 10), packs(100, 10), 300, 300),
    ],
    ids=["included", "prepaid"],
)
def test_an_upgrade_starts_the_new_plans_used_up_balances_afresh(
    api: httpx.Client,
    clean_stack: LocalStack,
    pro: dict[str, Any],
    premium: dict[str, Any],
    premium_quantity: int | None,
    granted: int,
) -> None:
    """immediate-switch-reset-behavior (consumable, prepaid): usage of a used-up feature
    is not carried into the plan upgraded to."""
    with_catalog(api, clean_stack, plan("pro", 20, pro), plan("premium", 50, premium))
    attach(api, "pro", 200 if "price" in pro else None)
    used = {"customer_id": "c1", "feature_id": "messages", "value": 30}
    assert api.post("/v1/balances.track", json=used).status_code == 200

    attach(api, "premium", premium_quantity)

    customer = held(api)
    assert plans_held(customer) == [("premium", "active", False)]
    balance = customer["balances"]["messages"]
    assert (balance["granted"], balance["remaining"], balance["usage"]) == (granted, granted, 0)


def test_a_second_upgrade_in_one_period_credits_the_plan_paid_by_the_first(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    """invoice-matched-credits (upgrade twice in one period, no discount): Pro ($20) to
    Premium ($50) to Growth ($100): the second upgrade credits Premium's unused time, not
    Pro's, and charges what its preview said."""
    with_catalog(api, clean_stack, plan("pro", 20), plan("premium", 50), plan("growth", 100))
    attach(api, "pro")
    attach(api, "premium")

    preview = api.post(
        "/v1/billing.preview_attach", json={"customer_id": "c1", "plan_id": "growth"}
    )
    upgraded = attach(api, "growth")

    assert preview.status_code == 200, preview.text
    lines = [dollars(line["total"]) for line in preview.json()["line_items"]]
    assert sorted(lines) == [Decimal(-50), Decimal(100)]
    assert dollars(preview.json()["total"]) == Decimal(50)
    assert dollars(upgraded["invoice"]["total"]) == Decimal(50)
    customer = held(api)
    assert plans_held(customer) == [("growth", "active", False)]
    assert invoice_totals(customer) == [Decimal(20), Decimal(30), Decimal(50)]


SEATS_FEATURE = {"feature_id": "seats", "name": "Seats", "type": "metered", "consumable": False}


def seats(included: int) -> dict[str, Any]:
    return {"feature_id": "seats", "included": included}


def test_seats_in_use_stay_in_use_across_a_switch_and_used_up_messages_start_afresh(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    """immediate-switch-reset-behavior (continuous use) and immediate-switch-allocated: 2 of
    the free plan's 3 seats taken, then Pro (5 seats) bought: the 2 seats stay taken (3
    left), where the 40 messages used start afresh on Pro's own allowance."""
    assert api.post("/v1/features.create", json=SEATS_FEATURE).status_code == 200
    free = {
        "plan_id": "free",
        "name": "Free",
        "group": "main",
        "items": [seats(3), {"feature_id": "messages", "included": 100}],
    }
    pro = plan("pro", 20, seats(5), {"feature_id": "messages", "included": 500})
    with_catalog(api, clean_stack, free, pro)
    attach(api, "free")
    for feature_id, used in (("seats", 2), ("messages", 40)):
        tracked = {"customer_id": "c1", "feature_id": feature_id, "value": used}
        assert api.post("/v1/balances.track", json=tracked).status_code == 200

    attach(api, "pro")

    customer = held(api)
    assert plans_held(customer) == [("pro", "active", False)]
    balances = customer["balances"]
    assert (balances["seats"]["usage"], balances["seats"]["remaining"]) == (2, 3)
    assert (balances["messages"]["usage"], balances["messages"]["remaining"]) == (0, 500)
    assert invoice_totals(customer) == [Decimal(20)]
