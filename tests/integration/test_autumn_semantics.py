"""Autumn's documented behaviours for plans, customers and hand-made balances, over HTTP."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

DAY_MS = 24 * 3600 * 1000


@pytest.fixture
def features(api: httpx.Client) -> httpx.Client:
    for body in (
        {"feature_id": "messages", "name": "Messages", "type": "metered"},
        {"feature_id": "seats", "name": "Seats", "type": "metered", "consumable": False},
        {"feature_id": "sso", "name": "SSO", "type": "boolean"},
    ):
        assert api.post("/v1/features.create", json=body).status_code == 200
    return api


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def refused(response: httpx.Response, field: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"]
    assert field in [d["field"] for d in body["details"]]


class TestPlanItems:
    def test_an_item_without_reset_or_price_is_lifetime_and_an_unlimited_one_has_no_reset(
        self, features: httpx.Client
    ) -> None:
        plan = ok(
            features.post(
                "/v1/plans.create",
                json={
                    "plan_id": "free",
                    "name": "Free",
                    "auto_enable": True,
                    "items": [
                        {"feature_id": "messages", "included": 100},
                        {"feature_id": "seats", "unlimited": True},
                    ],
                },
            )
        )
        customer = ok(features.post("/v1/customers.get_or_create", json={"customer_id": "u"}))

        lifetime, unlimited = plan["items"]
        assert lifetime["reset"]["interval"] == "one_off"
        assert unlimited["reset"] is None
        balance = customer["balances"]["messages"]
        assert balance["next_reset_at"] is None, "a lifetime allowance never resets"

    def test_more_than_ten_trillion_included_is_a_400(self, features: httpx.Client) -> None:
        response = features.post(
            "/v1/plans.create",
            json={
                "plan_id": "big",
                "name": "Big",
                "items": [{"feature_id": "messages", "included": 10**13 + 1}],
            },
        )

        refused(response, "items.0.included")

    @pytest.mark.parametrize(
        ("price", "field"),
        [
            (
                {
                    "tiers": [
                        {"to": 100, "amount": 1, "flat_amount": 5},
                        {"to": "inf", "amount": 1},
                    ],
                    "tier_behavior": "graduated",
                },
                "items.0.price.tier_behavior",
            ),
            (
                {
                    "tiers": [{"to": "inf", "amount": 1, "flat_amount": 5}],
                    "tier_behavior": "volume",
                },
                "items.0.price.tiers",
            ),
            (
                {
                    "tiers": [{"to": 100, "amount": 1}, {"to": "inf", "amount": 1}],
                    "tier_behavior": "volume",
                    "billing_method": "usage_based",
                },
                "items.0.price.tier_behavior",
            ),
            (
                {"tiers": [{"to": 10, "amount": 1}, {"to": "inf", "amount": 1}]},
                "items.0.price.tiers.0.to",
            ),
        ],
        ids=["flat-on-graduated", "flat-on-one-tier", "volume-usage-based", "first-tier-low"],
    )
    def test_tiers_follow_autumns_rules(
        self, features: httpx.Client, price: dict[str, object], field: str
    ) -> None:
        response = features.post(
            "/v1/plans.create",
            json={
                "plan_id": "tiered",
                "name": "Tiered",
                "price": {"amount": 10, "interval": "month"},
                "items": [
                    {
                        "feature_id": "messages",
                        "included": 10,
                        "price": {"interval": "month", **price},
                    }
                ],
            },
        )

        refused(response, field)
        assert features.post("/v1/plans.get", json={"plan_id": "tiered"}).status_code == 404


class TestPlanConfigAndVersions:
    def test_ignore_past_due_is_kept_and_returned(self, features: httpx.Client) -> None:
        created = ok(
            features.post(
                "/v1/plans.create",
                json={"plan_id": "pro", "name": "Pro", "config": {"ignore_past_due": True}},
            )
        )
        fetched = ok(features.post("/v1/plans.get", json={"plan_id": "pro"}))
        renamed = ok(features.post("/v1/plans.update", json={"plan_id": "pro", "name": "P"}))
        cleared = ok(
            features.post(
                "/v1/plans.update", json={"plan_id": "pro", "config": {"ignore_past_due": False}}
            )
        )

        assert created["config"]["ignore_past_due"] is True
        assert fetched["config"]["ignore_past_due"] is True
        assert renamed["config"]["ignore_past_due"] is True
        assert cleared["config"]["ignore_past_due"] is False

    def test_force_version_makes_a_new_version_that_new_customers_get(
        self, features: httpx.Client
    ) -> None:
        ok(
            features.post(
                "/v1/plans.create",
                json={
                    "plan_id": "free",
                    "name": "Free",
                    "auto_enable": True,
                    "items": [{"feature_id": "messages", "included": 5}],
                },
            )
        )

        forced = ok(
            features.post(
                "/v1/plans.update",
                json={
                    "plan_id": "free",
                    "force_version": True,
                    "items": [{"feature_id": "messages", "included": 9}],
                },
            )
        )
        first = ok(features.post("/v1/plans.get", json={"plan_id": "free", "version": 1}))
        customer = ok(features.post("/v1/customers.get_or_create", json={"customer_id": "u"}))

        assert forced["version"] == 2, "nobody held version 1, yet a new version was made"
        assert forced["auto_enable"] is True
        assert first["items"][0]["included"] == 5
        assert customer["balances"]["messages"]["granted"] == 9

    def test_a_free_default_plan_with_a_trial_starts_its_customers_trialing(
        self, features: httpx.Client
    ) -> None:
        plan = ok(
            features.post(
                "/v1/plans.create",
                json={
                    "plan_id": "free",
                    "name": "Free",
                    "auto_enable": True,
                    "free_trial": {"duration_length": 14, "duration_type": "day"},
                    "items": [
                        {"feature_id": "messages", "included": 5, "reset": {"interval": "month"}}
                    ],
                },
            )
        )
        customer = ok(features.post("/v1/customers.get_or_create", json={"customer_id": "u"}))

        [subscription] = customer["subscriptions"]
        assert plan["free_trial"]["duration_length"] == 14
        trial_end = customer["created_at"] + 14 * DAY_MS
        assert subscription["trial_ends_at"] == trial_end
        # Trialing as Autumn shows a free plan's trial: the trial is its current period,
        # and the balances' first reset is the trial's end.
        assert subscription["current_period_start"] == subscription["started_at"]
        assert subscription["current_period_end"] == trial_end
        assert customer["balances"]["messages"]["next_reset_at"] == trial_end


class TestOmittedNotNull:
    def test_fields_autumn_does_not_allow_as_null_are_left_out(
        self, features: httpx.Client
    ) -> None:
        feature = ok(features.post("/v1/features.get", json={"feature_id": "messages"}))
        plan = ok(
            features.post(
                "/v1/plans.create",
                json={
                    "plan_id": "pro",
                    "name": "Pro",
                    "price": {"amount": 10, "interval": "month"},
                    "items": [
                        {
                            "feature_id": "seats",
                            "price": {"amount": 5, "interval": "month"},
                        }
                    ],
                },
            )
        )

        assert "display" not in feature
        assert "free_trial" not in plan
        price = plan["items"][0]["price"]
        assert price["amount"] == 5
        assert "tiers" not in price
        assert "tier_behavior" not in price


class TestCustomerConfig:
    def test_config_is_kept_returned_and_partially_updated(self, api: httpx.Client) -> None:
        created = ok(
            api.post(
                "/v1/customers.get_or_create",
                json={"customer_id": "u", "config": {"disable_pooled_balance": True}},
            )
        )
        updated = ok(
            api.post(
                "/v1/customers.update",
                json={"customer_id": "u", "config": {"disable_overage_billing": True}},
            )
        )
        turned_off = ok(
            api.post(
                "/v1/customers.update",
                json={"customer_id": "u", "config": {"disable_pooled_balance": False}},
            )
        )
        listed = ok(api.post("/v1/customers.list", json={}))

        assert created["config"] == {
            "disable_pooled_balance": True,
            "disable_overage_billing": False,
        }
        assert updated["config"] == {
            "disable_pooled_balance": True,
            "disable_overage_billing": True,
        }
        assert turned_off["config"] == {
            "disable_pooled_balance": False,
            "disable_overage_billing": True,
        }
        assert listed["list"][0]["config"] == turned_off["config"]

    def test_expanded_features_are_embedded_only_when_asked(self, features: httpx.Client) -> None:
        ok(
            features.post(
                "/v1/plans.create",
                json={
                    "plan_id": "free",
                    "name": "Free",
                    "auto_enable": True,
                    "items": [{"feature_id": "messages", "included": 5}, {"feature_id": "sso"}],
                },
            )
        )
        plain = ok(features.post("/v1/customers.get_or_create", json={"customer_id": "u"}))
        expanded = ok(
            features.post(
                "/v1/customers.get",
                json={"customer_id": "u", "expand": ["balances.feature", "flags.feature"]},
            )
        )

        assert "feature" not in plain["balances"]["messages"]
        assert expanded["balances"]["messages"]["feature"]["name"] == "Messages"
        assert expanded["flags"]["sso"]["feature"]["type"] == "boolean"


class TestCreateBalanceNextReset:
    @pytest.mark.parametrize(
        ("extra", "message"),
        [
            ({}, "needs a reset interval"),
            ({"reset": {"interval": "month"}, "next_reset_at_offset": -DAY_MS}, "in the future"),
            (
                {"reset": {"interval": "month"}, "expires_at_offset": DAY_MS},
                "before expires_at",
            ),
        ],
        ids=["no-interval", "in-the-past", "after-expiry"],
    )
    def test_an_impossible_next_reset_is_a_400_and_nothing_is_given(
        self, features: httpx.Client, extra: dict[str, Any], message: str
    ) -> None:
        ok(features.post("/v1/customers.get_or_create", json={"customer_id": "u"}))
        now = int(time.time() * 1000)
        body: dict[str, Any] = {
            "customer_id": "u",
            "feature_id": "messages",
            "included_grant": 5,
            "next_reset_at": now + int(extra.pop("next_reset_at_offset", 2 * DAY_MS)),
        }
        if "expires_at_offset" in extra:
            body["expires_at"] = now + int(extra.pop("expires_at_offset"))
        body.update(extra)

        response = features.post("/v1/balances.create", json=body)
        customer = ok(features.post("/v1/customers.get", json={"customer_id": "u"}))

        refused(response, "next_reset_at")
        assert message in response.json()["details"][0]["message"]
        assert customer["balances"] == {}

    def test_a_next_reset_in_the_future_before_expiry_is_kept(self, features: httpx.Client) -> None:
        ok(features.post("/v1/customers.get_or_create", json={"customer_id": "u"}))
        now = int(time.time() * 1000)

        created = features.post(
            "/v1/balances.create",
            json={
                "customer_id": "u",
                "feature_id": "messages",
                "included_grant": 5,
                "reset": {"interval": "month"},
                "next_reset_at": now + DAY_MS,
                "expires_at": now + 10 * DAY_MS,
            },
        )
        customer = ok(features.post("/v1/customers.get", json={"customer_id": "u"}))

        assert created.status_code == 200
        assert customer["balances"]["messages"]["next_reset_at"] == now + DAY_MS
