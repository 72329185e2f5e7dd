"""Balances as answered: each breakdown's price in the shape Autumn's schema allows, which
the SDK's own Balance model parses and serialises back unchanged."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from autumn_sdk.models.balance import Balance

from billing import numbers
from billing.api.wire.holdings import balance_response
from billing.domain.holdings import Grant, balances
from billing.domain.terms import ItemPrice, Reset, Tier


def answered(price: ItemPrice) -> dict[str, Any]:
    grant = Grant(
        id="cus_ent_1",
        feature_id="messages",
        plan_id="pro",
        included=Decimal(100),
        anchor_at=0,
        reset=Reset(interval="month"),
        next_reset_at=2_000,
        price=price,
    )
    # As the API sends it: exact decimals printed as JSON numbers.
    shown = json.loads(numbers.dumps(balance_response(balances([grant])["messages"]).model_dump()))
    assert isinstance(shown, dict)
    return shown


def test_a_flat_price_has_no_tier_fields_in_the_breakdown() -> None:
    shown = answered(ItemPrice(amount=Decimal("0.5"), billing_units=Decimal(100)))

    price = shown["breakdown"][0]["price"]
    assert price == {
        "billing_units": 100,
        "billing_method": "prepaid",
        "max_purchase": None,
        "amount": 0.5,
    }
    assert Balance.model_validate(shown).model_dump(mode="json", by_alias=True)["breakdown"][0][
        "price"
    ] == json.loads(json.dumps(price))


def test_a_tiered_price_keeps_its_tiers_and_has_no_amount() -> None:
    tiers = (Tier(to=Decimal(500), amount=Decimal(1)), Tier(to="inf", amount=Decimal("0.5")))

    shown = answered(ItemPrice(tiers=tiers, tier_behavior="graduated"))

    price = shown["breakdown"][0]["price"]
    assert price["tiers"] == [{"to": 500, "amount": 1}, {"to": "inf", "amount": 0.5}]
    assert price["tier_behavior"] == "graduated"
    assert "amount" not in price
    parsed = Balance.model_validate(shown).breakdown
    assert parsed is not None
    assert parsed[0].price is not None
    assert parsed[0].price.tier_behavior == "graduated"
