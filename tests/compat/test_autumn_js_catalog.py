"""autumn-js (through node) drives features.* and plans.* against the local stack; its zod
schemas must accept every answer."""

from __future__ import annotations

from local.stack import LocalStack
from tests.compat.js_sdk import AutumnJs


def test_features_round_trip_through_autumn_js(autumn_js: AutumnJs) -> None:
    messages, sso, credits, renamed, fetched, listed, deleted = autumn_js.values(
        (
            "features.create",
            {
                "featureId": "messages",
                "name": "Messages",
                "type": "metered",
                "consumable": True,
                "eventNames": ["chat"],
            },
        ),
        ("features.create", {"featureId": "sso", "name": "SSO", "type": "boolean"}),
        (
            "features.create",
            {
                "featureId": "credits",
                "name": "Credits",
                "type": "credit_system",
                "consumable": True,
                "creditSchema": [{"meteredFeatureId": "messages", "creditCost": 3}],
                "display": {"singular": "credit", "plural": "credits"},
            },
        ),
        ("features.update", {"featureId": "sso", "name": "Single sign-on"}),
        ("features.get", {"featureId": "credits"}),
        ("features.list", {}),
        ("features.delete", {"featureId": "sso"}),
    )

    assert messages["eventNames"] == ["chat"]
    assert "display" not in messages, "no display: omitted, not null"
    assert sso["type"] == "boolean"
    assert credits["creditSchema"] == [{"meteredFeatureId": "messages", "creditCost": 3}]
    assert renamed["name"] == "Single sign-on"
    assert fetched["display"] == {"singular": "credit", "plural": "credits"}
    assert [f["id"] for f in listed["list"]] == ["messages", "sso", "credits"]
    assert deleted["success"] is True


def _catalog_features(autumn_js: AutumnJs) -> None:
    autumn_js.values(
        *(
            ("features.create", args)
            for args in (
                {
                    "featureId": "messages",
                    "name": "Messages",
                    "type": "metered",
                    "consumable": True,
                },
                {"featureId": "seats", "name": "Seats", "type": "metered", "consumable": False},
                {"featureId": "sso", "name": "SSO", "type": "boolean"},
            )
        )
    )


def test_plans_round_trip_through_autumn_js(autumn_js: AutumnJs, clean_stack: LocalStack) -> None:
    _catalog_features(autumn_js)
    free = autumn_js.call(
        "plans.create",
        planId="free",
        name="Free",
        autoEnable=True,
        items=[{"featureId": "messages", "included": 100}, {"featureId": "sso"}],
    )
    pro = autumn_js.call(
        "plans.create",
        planId="pro",
        name="Pro",
        group="main",
        price={"amount": 20, "interval": "month"},
        items=[
            {
                "featureId": "messages",
                "included": 1000,
                "reset": {"interval": "month"},
                "price": {"amount": 0.01, "interval": "month", "billingMethod": "usage_based"},
            },
            {
                "featureId": "seats",
                "price": {
                    "tiers": [{"to": 10, "amount": 10}, {"to": "inf", "amount": 8}],
                    "tierBehavior": "graduated",
                    "interval": "month",
                    "billingMethod": "prepaid",
                    "maxPurchase": 50,
                },
            },
        ],
        freeTrial={"durationLength": 7, "durationType": "day", "cardRequired": True},
    )
    fetched, version_one, listed, updated, deleted = autumn_js.values(
        ("plans.get", {"planId": "pro"}),
        ("plans.get", {"planId": "pro", "version": 1}),
        ("plans.list", {}),
        ("plans.update", {"planId": "free", "name": "Starter"}),
        ("plans.delete", {"planId": "free"}),
    )

    assert free["autoEnable"] is True
    assert "freeTrial" not in free or free["freeTrial"] is None
    assert pro["price"]["amount"] == 20
    assert pro["freeTrial"]["cardRequired"] is True
    assert pro["processors"]["stripe"]["productId"]
    usage_priced = fetched["items"][0]
    assert usage_priced["price"]["billingMethod"] == "usage_based"
    assert usage_priced["price"]["amount"] == 0.01
    tiered = fetched["items"][1]["price"]
    assert [t["amount"] for t in tiered["tiers"]] == [10, 8]
    assert tiered["tierBehavior"] == "graduated"
    assert version_one["version"] == 1
    assert [p["id"] for p in listed["list"]] == ["free", "pro"]
    assert updated["name"] == "Starter"
    assert deleted["success"] is True
    assert clean_stack.emulator is not None
    assert clean_stack.emulator.count("price") == 3


def test_a_bad_plan_is_a_400_autumn_js_reports(autumn_js: AutumnJs) -> None:
    error = autumn_js.error(
        "plans.create", planId="bad", name="Bad", items=[{"featureId": "ghost"}]
    )

    assert error["status"] == 400
    assert "items.0.feature_id" in error["body"]


def test_plan_config_trials_and_forced_versions_through_autumn_js(autumn_js: AutumnJs) -> None:
    _catalog_features(autumn_js)

    created, forced, customer = autumn_js.values(
        (
            "plans.create",
            {
                "planId": "free",
                "name": "Free",
                "autoEnable": True,
                "config": {"ignorePastDue": True},
                "freeTrial": {"durationLength": 7, "durationType": "day"},
                "items": [
                    {"featureId": "messages", "included": 5},
                    {"featureId": "seats", "unlimited": True},
                ],
            },
        ),
        ("plans.update", {"planId": "free", "forceVersion": True}),
        ("customers.getOrCreate", {"customerId": "u"}),
    )

    assert created["config"]["ignorePastDue"] is True
    assert created["items"][0]["reset"]["interval"] == "one_off"
    assert created["items"][1]["reset"] is None
    assert forced["version"] == 2
    assert forced["autoEnable"] is True
    [subscription] = customer["subscriptions"]
    assert subscription["trialEndsAt"] == customer["createdAt"] + 7 * 24 * 3600 * 1000
