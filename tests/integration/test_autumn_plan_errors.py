"""Autumn's plan validation scenarios (ported from useautumn/autumn
server/tests/integration/crud/plans/create-plan-errors.test.ts): each bad plan is a 400
`invalid_inputs` whose message says the rule in Autumn's words, naming the field, and
creates nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

LAST = None  # the last tier's `to`: no upper bound


def tiered(**price: Any) -> dict[str, Any]:
    return {"interval": "month", "billing_units": 1, "billing_method": "prepaid", **price}


CASES = [
    pytest.param(
        {"feature_id": "messages", "included": 10_000_000_000_001},
        "Included usage cannot exceed 10 trillion; use unlimited usage instead",
        id="included-over-ten-trillion",
    ),
    pytest.param(
        {"feature_id": "messages", "price": tiered()},
        "either 'amount' or 'tiers' must be defined",
        id="neither-amount-nor-tiers",
    ),
    pytest.param(
        {
            "feature_id": "messages",
            "price": tiered(
                amount=10, tiers=[{"to": 100, "amount": 5}, {"to": "inf", "amount": 2}]
            ),
        },
        "'amount' and 'tiers' cannot both be defined",
        id="amount-and-tiers",
    ),
    pytest.param(
        {
            "feature_id": "messages",
            "price": tiered(
                tiers=[{"to": 100, "amount": 5, "flat_amount": 10}, {"to": "inf", "amount": 2}],
                tier_behavior="graduated",
            ),
        },
        "flat_amount on tiers is only supported for volume-based pricing",
        id="flat-amount-on-graduated-tiers",
    ),
    pytest.param(
        {
            "feature_id": "messages",
            "price": tiered(
                tiers=[{"to": "inf", "amount": 5, "flat_amount": 10}], tier_behavior="volume"
            ),
        },
        "flat_amount is not supported on single-tier pricing",
        id="flat-amount-on-a-single-tier",
    ),
    pytest.param(
        {
            "feature_id": "messages",
            "price": tiered(
                tiers=[{"to": 100, "amount": 5, "flat_amount": -10}, {"to": "inf", "amount": 2}],
                tier_behavior="volume",
            ),
        },
        "flat_amount must be 0 or greater",
        id="negative-flat-amount",
    ),
    pytest.param(
        {
            "feature_id": "messages",
            "price": tiered(
                tiers=[{"to": 100, "amount": 5}, {"to": "inf", "amount": 2}],
                tier_behavior="volume",
                billing_method="usage_based",
            ),
        },
        "volume-based pricing is only supported for prepaid",
        id="volume-tiers-usage-based",
    ),
    pytest.param(
        {
            "feature_id": "messages",
            "included": 200,
            "price": tiered(tiers=[{"to": 100, "amount": 5}, {"to": "inf", "amount": 2}]),
        },
        "tiers[0].to must be greater than included",
        id="first-tier-within-included",
    ),
]


@pytest.mark.parametrize(("item", "message"), CASES)
def test_a_bad_plan_is_refused_in_autumns_words(
    api: httpx.Client, item: dict[str, Any], message: str
) -> None:
    api.post(
        "/v1/features.create",
        json={"feature_id": "messages", "name": "Messages", "type": "metered"},
    )

    response = api.post("/v1/plans.create", json={"plan_id": "bad", "name": "Bad", "items": [item]})

    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "invalid_inputs"
    assert message in body["message"], body
    assert api.post("/v1/plans.list", json={}).json()["list"] == []
