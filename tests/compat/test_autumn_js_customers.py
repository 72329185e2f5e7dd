"""autumn-js (the official Node SDK, through node) drives customers.* against the local stack.

autumn-js sends `x-api-version: 2.4.0` and parses every answer with its zod schemas: a field
missing, mistyped or null where the schema wants it absent fails these tests.
"""

from __future__ import annotations

import httpx

from tests.compat.js_sdk import AutumnJs


def test_get_or_create_answers_a_customer_autumn_js_parses(autumn_js: AutumnJs) -> None:
    customer = autumn_js.call(
        "customers.getOrCreate",
        customerId="user_123",
        name="Ada",
        email="ada@example.com",
        metadata={"tier": "x"},
    )
    again = autumn_js.call("customers.getOrCreate", customerId="user_123")

    assert customer["id"] == "user_123"
    assert customer["email"] == "ada@example.com"
    assert customer["metadata"] == {"tier": "x"}
    assert customer["subscriptions"] == []
    assert again["createdAt"] == customer["createdAt"]


def test_get_with_expansions_through_autumn_js(autumn_js: AutumnJs) -> None:
    autumn_js.call("customers.getOrCreate", customerId="user_123", createInStripe=True)

    customer = autumn_js.call(
        "customers.get", customerId="user_123", expand=["invoices", "entities"]
    )

    assert customer["id"] == "user_123"
    assert customer["stripeId"].startswith("cus_")
    assert customer["invoices"] == []
    assert customer["entities"] == []


def test_list_pages_through_autumn_js(autumn_js: AutumnJs) -> None:
    for n in range(3):
        autumn_js.call("customers.getOrCreate", customerId=f"user_{n}")

    first = autumn_js.call("customers.list", limit=2)
    rest = autumn_js.call("customers.list", limit=2, startCursor=first["nextCursor"])

    assert [c["id"] for c in first["list"]] == ["user_2", "user_1"]
    assert [c["id"] for c in rest["list"]] == ["user_0"]
    assert rest["nextCursor"] is None or "nextCursor" not in rest


def test_update_rename_and_delete_through_autumn_js(autumn_js: AutumnJs) -> None:
    autumn_js.call("customers.getOrCreate", customerId="user_123", name="Ada")

    updated = autumn_js.call(
        "customers.update", customerId="user_123", name="Ada L.", newCustomerId="user_456"
    )
    deleted = autumn_js.call("customers.delete", customerId="user_456")
    missing = autumn_js.error("customers.get", customerId="user_456")

    assert updated["id"] == "user_456"
    assert updated["name"] == "Ada L."
    assert deleted["success"] is True
    assert missing["status"] == 404


def test_customer_config_round_trips_through_autumn_js(autumn_js: AutumnJs) -> None:
    created = autumn_js.call(
        "customers.getOrCreate", customerId="u", config={"disablePooledBalance": True}
    )
    updated = autumn_js.call(
        "customers.update", customerId="u", config={"disableOverageBilling": True}
    )

    assert created["config"]["disablePooledBalance"] is True
    assert updated["config"] == {"disablePooledBalance": True, "disableOverageBilling": True}


def test_a_customer_on_the_default_plan_with_expanded_features_parses(
    autumn_js: AutumnJs, api: httpx.Client
) -> None:
    for body in (
        {"feature_id": "messages", "name": "Messages", "type": "metered", "consumable": True},
        {"feature_id": "seats", "name": "Seats", "type": "metered", "consumable": False},
        {"feature_id": "sso", "name": "SSO", "type": "boolean"},
    ):
        assert api.post("/v1/features.create", json=body).status_code == 200
    autumn_js.call(
        "plans.create",
        planId="free",
        name="Free",
        autoEnable=True,
        items=[
            {"featureId": "messages", "included": 10},
            {"featureId": "seats", "included": 3},
            {"featureId": "sso"},
        ],
    )

    customer = autumn_js.call(
        "customers.getOrCreate", customerId="u", expand=["balances.feature", "flags.feature"]
    )
    fetched = autumn_js.call("customers.get", customerId="u", expand=["subscriptions.plan"])

    assert customer["subscriptions"][0]["planId"] == "free"
    assert customer["balances"]["messages"]["remaining"] == 10
    assert customer["balances"]["messages"]["feature"]["id"] == "messages"
    assert customer["balances"]["seats"]["granted"] == 3
    assert customer["flags"]["sso"]["feature"]["id"] == "sso"
    assert fetched["subscriptions"][0]["planId"] == "free"


def test_autumn_js_speaks_api_version_2_4_and_is_answered(autumn_js: AutumnJs) -> None:
    customer = autumn_js.call("customers.getOrCreate", customerId="u")

    assert autumn_js.api_versions == {"2.4.0"}
    assert customer["id"] == "u"
