"""plans.* over HTTP against the local stack: shapes, validation, versions, Stripe mirror."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from local.stack import LocalStack
from tests.conftest import stripe_client


@pytest.fixture
def features(api: httpx.Client) -> httpx.Client:
    for body in (
        {"feature_id": "messages", "name": "Messages", "type": "metered"},
        {"feature_id": "seats", "name": "Seats", "type": "metered", "consumable": False},
        {"feature_id": "sso", "name": "SSO", "type": "boolean"},
        {
            "feature_id": "credits",
            "name": "Credits",
            "type": "credit_system",
            "credit_schema": [{"metered_feature_id": "messages", "credit_cost": 1}],
        },
    ):
        assert api.post("/v1/features.create", json=body).status_code == 200
    return api


FREE = {
    "plan_id": "free",
    "name": "Free",
    "auto_enable": True,
    "items": [{"feature_id": "messages", "included": 100}, {"feature_id": "sso"}],
}


def test_a_free_plan_gets_defaults_filled_in(features: httpx.Client) -> None:
    response = features.post("/v1/plans.create", json=FREE)

    assert response.status_code == 200
    plan = response.json()
    assert plan["version"] == 1
    assert plan["price"] is None
    # Neither reset nor price: a lifetime allowance, as in Autumn.
    assert plan["items"][0]["reset"] == {"interval": "one_off", "interval_count": 1}
    assert plan["items"][1] == {
        "feature_id": "sso",
        "included": 0,
        "unlimited": False,
        "reset": None,
        "price": None,
    }
    assert plan["processors"]["stripe"] is None


def test_get_list_update_delete(features: httpx.Client) -> None:
    features.post("/v1/plans.create", json=FREE)
    features.post("/v1/plans.create", json={"plan_id": "team", "name": "Team", "group": ""})

    fetched = features.post("/v1/plans.get", json={"plan_id": "free"}).json()
    listed = features.post("/v1/plans.list", json={}).json()["list"]
    renamed = features.post("/v1/plans.update", json={"plan_id": "free", "name": "Starter"}).json()
    deleted = features.post("/v1/plans.delete", json={"plan_id": "team"})

    assert fetched["id"] == "free"
    assert [p["id"] for p in listed] == ["free", "team"]
    assert listed[1]["group"] is None
    assert renamed["name"] == "Starter"
    assert renamed["version"] == 1, "nobody holds it: changed in place"
    assert deleted.json() == {"success": True}
    assert features.post("/v1/plans.get", json={"plan_id": "team"}).status_code == 404


def test_unknown_plans_and_versions_are_404(features: httpx.Client) -> None:
    features.post("/v1/plans.create", json=FREE)

    for body in ({"plan_id": "ghost"}, {"plan_id": "free", "version": 7}):
        response = features.post("/v1/plans.get", json=body)
        assert response.status_code == 404
        assert response.json()["code"] == "product_not_found"


def test_an_existing_plan_id_is_a_409(features: httpx.Client) -> None:
    features.post("/v1/plans.create", json=FREE)

    response = features.post("/v1/plans.create", json=FREE)

    assert response.status_code == 409
    assert response.json()["code"] == "product_already_exists"


MONTHLY = {"interval": "month", "billing_method": "usage_based"}


@pytest.mark.parametrize(
    ("items", "price", "field"),
    [
        ([{"feature_id": "ghost"}], None, "items.0.feature_id"),
        ([{"feature_id": "sso", "included": 5}], None, "items.0"),
        ([{"feature_id": "messages"}, {"feature_id": "messages"}], None, "items.1"),
        ([{"feature_id": "messages", "included": -1}], None, "items.0.included"),
        ([{"feature_id": "seats", "reset": {"interval": "month"}}], None, "items.0.reset"),
        (
            [{"feature_id": "seats", "price": {"amount": 1, **MONTHLY}}],
            None,
            "items.0.price.billing_method",
        ),
        (
            [
                {"feature_id": "messages", "price": {"amount": 1, **MONTHLY}},
                {"feature_id": "credits", "price": {"amount": 1, **MONTHLY}},
            ],
            None,
            "items.1",
        ),
        (
            [{"feature_id": "messages", "price": {"tiers": [{"to": 10, "amount": 1}], **MONTHLY}}],
            None,
            "items.0.price.tiers.0.to",
        ),
        (
            [
                {
                    "feature_id": "messages",
                    "price": {
                        "tiers": [
                            {"to": 10, "amount": 1},
                            {"to": 5, "amount": 1},
                            {"to": "inf", "amount": 1},
                        ],
                        **MONTHLY,
                    },
                }
            ],
            None,
            "items.0.price.tiers.1.to",
        ),
        (
            [
                {
                    "feature_id": "messages",
                    "price": {"amount": 1, "tiers": [{"to": "inf", "amount": 1}], **MONTHLY},
                }
            ],
            None,
            "items.0.price",
        ),
        (
            [
                {
                    "feature_id": "messages",
                    "price": {"amount": 1, "interval": "year", "billing_method": "usage_based"},
                }
            ],
            {"amount": 5, "interval": "month"},
            "items.0.price.interval",
        ),
        ([], {"amount": 5, "interval": "quarter", "interval_count": 5}, "price.interval_count"),
        ([], {"amount": -5, "interval": "month"}, "price.amount"),
    ],
)
def test_an_invalid_plan_is_a_400_naming_the_field(
    features: httpx.Client, items: list[object], price: object, field: str
) -> None:
    body: dict[str, object] = {"plan_id": "bad", "name": "Bad", "items": items}
    if price is not None:
        body["price"] = price

    response = features.post("/v1/plans.create", json=body)

    assert response.status_code == 400, response.text
    assert response.json()["details"][0]["field"] == field
    assert features.post("/v1/plans.get", json={"plan_id": "bad"}).status_code == 404


def test_an_auto_enabled_plan_must_be_free(features: httpx.Client) -> None:
    response = features.post(
        "/v1/plans.create",
        json={
            "plan_id": "pro",
            "name": "Pro",
            "auto_enable": True,
            "price": {"amount": 20, "interval": "month"},
        },
    )

    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "auto_enable"


def test_a_trial_needs_a_paid_recurring_plan(features: httpx.Client) -> None:
    response = features.post(
        "/v1/plans.create",
        json={
            "plan_id": "free",
            "name": "Free",
            "free_trial": {"duration_length": 14, "duration_type": "day"},
        },
    )

    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "free_trial"


def test_a_feature_used_by_a_plan_is_archived_not_deleted(features: httpx.Client) -> None:
    features.post("/v1/plans.create", json=FREE)

    features.post("/v1/features.delete", json={"feature_id": "sso"})

    assert features.post("/v1/features.get", json={"feature_id": "sso"}).json()["archived"] is True


PRO = {
    "plan_id": "pro",
    "name": "Pro",
    "group": "main",
    "price": {"amount": 20, "interval": "month"},
    "items": [
        {
            "feature_id": "messages",
            "included": 1000,
            "price": {
                "amount": 0.5,
                "billing_units": 100,
                "billing_method": "usage_based",
                "interval": "month",
            },
        },
        {
            "feature_id": "seats",
            "included": 1,
            "price": {
                "tiers": [{"to": 10, "amount": 8}, {"to": "inf", "amount": 6}],
                "tier_behavior": "graduated",
                "billing_method": "prepaid",
                "interval": "month",
            },
        },
        {"feature_id": "sso"},
    ],
    "free_trial": {"duration_length": 14, "duration_type": "day", "card_required": True},
}


def stripe_prices(stack: LocalStack) -> list[Any]:
    return list(stripe_client(stack).v1.prices.list({"limit": 100, "expand": ["data.tiers"]}).data)


def test_a_paid_plan_is_mirrored_in_stripe(features: httpx.Client, clean_stack: LocalStack) -> None:
    plan = features.post("/v1/plans.create", json=PRO).json()

    product_id = plan["processors"]["stripe"]["product_id"]
    prices = {
        p.metadata.to_dict().get("billing_feature_id", ""): p for p in stripe_prices(clean_stack)
    }
    assert stripe_client(clean_stack).v1.products.retrieve(product_id).name == "Pro"
    assert set(prices) == {"", "messages", "seats"}
    assert prices[""].unit_amount == 2000
    assert prices[""].recurring.interval == "month"
    assert prices["messages"].type == "one_time", "overage is billed in arrears as invoice items"
    assert prices["messages"].unit_amount == 50
    assert prices["seats"].billing_scheme == "tiered"
    assert [t.up_to for t in prices["seats"].tiers] == [10, None]


def test_pushing_the_same_plan_again_creates_nothing_in_stripe(
    features: httpx.Client, clean_stack: LocalStack
) -> None:
    features.post("/v1/plans.create", json=PRO)
    assert clean_stack.emulator is not None
    before = clean_stack.emulator.counts()

    again = features.post("/v1/plans.update", json={k: v for k, v in PRO.items() if k != "group"})

    assert again.status_code == 200
    assert clean_stack.emulator.counts() == before
    assert before["product"] == 1
    assert before["price"] == 3


def test_a_one_off_top_up_gets_a_one_time_price(
    features: httpx.Client, clean_stack: LocalStack
) -> None:
    top_up = {
        "plan_id": "credits_top_up",
        "name": "1,000 credits",
        "add_on": True,
        "price": {"amount": 10, "interval": "one_off"},
        "items": [{"feature_id": "credits", "included": 1000, "reset": {"interval": "one_off"}}],
    }

    plan = features.post("/v1/plans.create", json=top_up)

    assert plan.status_code == 200, plan.text
    [price] = stripe_prices(clean_stack)
    assert price.type == "one_time"
    assert price.unit_amount == 1000


def test_a_stripe_outage_while_mirroring_saves_nothing_and_a_retry_completes(
    features: httpx.Client, clean_stack: LocalStack
) -> None:
    assert clean_stack.emulator is not None
    clean_stack.emulator.fail_next("POST", "/v1/prices", status=500, times=3)

    failed = features.post("/v1/plans.create", json=PRO)
    retried = features.post("/v1/plans.create", json=PRO)

    assert failed.status_code == 502
    assert retried.status_code == 200
    assert clean_stack.emulator.count("price") == 3
    assert clean_stack.emulator.count("product") == 1


# A fraction of a cent finer than Stripe's 12 decimal places of the minor unit.
TOO_FINE = "0.000000000000001"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"price": {"amount": TOO_FINE, "interval": "month"}}, "price.amount"),
        (
            {"items": [{"feature_id": "messages", "price": {"amount": TOO_FINE, **MONTHLY}}]},
            "items.0.price.amount",
        ),
        (
            {
                "items": [
                    {
                        "feature_id": "seats",
                        "price": {
                            "tiers": [
                                {"to": 10, "amount": 1},
                                {"to": "inf", "amount": 1, "flat_amount": TOO_FINE},
                            ],
                            "tier_behavior": "volume",
                            "billing_method": "prepaid",
                            "interval": "month",
                        },
                    }
                ]
            },
            "items.0.price.tiers.1.flat_amount",
        ),
    ],
)
def test_an_amount_finer_than_stripe_takes_is_a_400_naming_the_field_before_stripe(
    features: httpx.Client, clean_stack: LocalStack, body: dict[str, Any], field: str
) -> None:
    assert clean_stack.emulator is not None
    created = features.post(
        "/v1/plans.create",
        content=json.dumps({"plan_id": "fine", "name": "Fine", **body}).replace(
            f'"{TOO_FINE}"', TOO_FINE
        ),
        headers={"Content-Type": "application/json"},
    )

    assert created.status_code == 400, created.text
    assert created.json()["details"][0]["field"] == field
    assert clean_stack.emulator.count("price") == 0, "Stripe was never asked"


def test_plans_update_checks_amounts_against_stripe_too(features: httpx.Client) -> None:
    assert features.post("/v1/plans.create", json=PRO).status_code == 200

    updated = features.post(
        "/v1/plans.update",
        content=f'{{"plan_id": "pro", "price": {{"amount": {TOO_FINE}, "interval": "month"}}}}',
        headers={"Content-Type": "application/json"},
    )

    assert updated.status_code == 400, updated.text
    assert updated.json()["details"][0]["field"] == "price.amount"
    assert features.post("/v1/plans.get", json={"plan_id": "pro"}).json()["price"]["amount"] == 20


def test_a_stripe_refusal_a_retry_cannot_fix_is_a_4xx_naming_stripes_param(
    features: httpx.Client, clean_stack: LocalStack
) -> None:
    assert clean_stack.emulator is not None
    # Stripe refuses a request it finds invalid with a 400 (here, as the emulator does).
    clean_stack.emulator.fail_next("POST", "/v1/prices", status=400, times=1)

    refused = features.post("/v1/plans.create", json=PRO)

    assert refused.status_code == 400, refused.text
    assert refused.json()["code"] == "stripe_invalid_request"
    assert "safe to retry" not in refused.json()["message"]


@pytest.mark.parametrize("status", [429, 500, 503])
def test_a_stripe_failure_a_retry_can_fix_stays_a_retryable_502(
    features: httpx.Client, clean_stack: LocalStack, status: int
) -> None:
    assert clean_stack.emulator is not None
    clean_stack.emulator.fail_next("POST", "/v1/prices", status=status, times=3)

    failed = features.post("/v1/plans.create", json=PRO)

    assert failed.status_code == 502, failed.text
    assert failed.json()["code"] == "stripe_error"
