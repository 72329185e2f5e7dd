"""balances.create and balances.update over HTTP: grants given and adjusted by hand."""

from __future__ import annotations

import httpx
import pytest


@pytest.fixture
def customer(api: httpx.Client) -> httpx.Client:
    api.post(
        "/v1/features.create",
        json={"feature_id": "messages", "name": "Messages", "type": "metered"},
    )
    api.post("/v1/features.create", json={"feature_id": "sso", "name": "SSO", "type": "boolean"})
    api.post("/v1/customers.get_or_create", json={"customer_id": "u"})
    return api


def balance(api: httpx.Client) -> dict[str, object]:
    return api.post("/v1/customers.get", json={"customer_id": "u"}).json()["balances"]["messages"]


def test_a_balance_given_by_hand_is_used_by_track(customer: httpx.Client) -> None:
    created = customer.post(
        "/v1/balances.create",
        json={
            "customer_id": "u",
            "feature_id": "messages",
            "included_grant": 50,
            "reset": {"interval": "month"},
        },
    )
    tracked = customer.post(
        "/v1/balances.track", json={"customer_id": "u", "feature_id": "messages", "value": 20}
    )

    assert created.json() == {"success": True}
    assert tracked.json()["balance"]["remaining"] == 30
    assert balance(customer)["breakdown"][0]["plan_id"] is None


def test_a_boolean_feature_given_by_hand_is_a_flag(customer: httpx.Client) -> None:
    customer.post("/v1/balances.create", json={"customer_id": "u", "feature_id": "sso"})

    checked = customer.post("/v1/balances.check", json={"customer_id": "u", "feature_id": "sso"})

    assert checked.json()["allowed"] is True


def test_a_balance_id_is_given_once(customer: httpx.Client) -> None:
    body = {
        "customer_id": "u",
        "feature_id": "messages",
        "included_grant": 5,
        "balance_id": "grant_1",
    }

    first = customer.post("/v1/balances.create", json=body)
    again = customer.post("/v1/balances.create", json=body)

    assert first.status_code == 200
    assert again.status_code == 409
    assert again.json()["code"] == "balance_exists"


@pytest.mark.parametrize(
    ("change", "remaining"),
    [
        ({"remaining": 7}, 7),
        ({"add_to_balance": 15}, 45),
        ({"usage": 40}, 10),
        ({"included_grant": 100}, 80),
    ],
)
def test_update_sets_or_adds(
    customer: httpx.Client, change: dict[str, float], remaining: float
) -> None:
    customer.post(
        "/v1/balances.create",
        json={"customer_id": "u", "feature_id": "messages", "included_grant": 50},
    )
    customer.post(
        "/v1/balances.track", json={"customer_id": "u", "feature_id": "messages", "value": 20}
    )

    updated = customer.post(
        "/v1/balances.update", json={"customer_id": "u", "feature_id": "messages", **change}
    )

    assert updated.status_code == 200
    assert balance(customer)["remaining"] == remaining


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        (
            "/v1/balances.update",
            {"customer_id": "u", "feature_id": "messages", "remaining": 1},
            404,
        ),
        ("/v1/balances.create", {"customer_id": "ghost", "feature_id": "messages"}, 404),
        ("/v1/balances.create", {"customer_id": "u", "feature_id": "ghost"}, 404),
        (
            "/v1/balances.create",
            {"customer_id": "u", "feature_id": "messages", "included_grant": -1},
            400,
        ),
        (
            "/v1/balances.create",
            {"customer_id": "u", "feature_id": "messages", "rollover": {"length": 1}},
            400,
        ),
    ],
)
def test_bad_or_unknown_targets_are_4xx(
    customer: httpx.Client, path: str, body: dict[str, object], status: int
) -> None:
    assert customer.post(path, json=body).status_code == status


def test_two_values_at_once_are_a_400(customer: httpx.Client) -> None:
    customer.post(
        "/v1/balances.create",
        json={"customer_id": "u", "feature_id": "messages", "included_grant": 50},
    )

    response = customer.post(
        "/v1/balances.update",
        json={"customer_id": "u", "feature_id": "messages", "remaining": 1, "usage": 2},
    )

    assert response.status_code == 400


def test_a_feature_no_plan_of_theirs_includes_previews_as_a_feature_flag(
    customer: httpx.Client,
) -> None:
    customer.post(
        "/v1/plans.create",
        json={"plan_id": "team", "name": "Team", "items": [{"feature_id": "sso"}]},
    )

    asked = customer.post(
        "/v1/balances.check",
        json={"customer_id": "u", "feature_id": "sso", "with_preview": True},
    ).json()
    not_asked = customer.post(
        "/v1/balances.check", json={"customer_id": "u", "feature_id": "sso"}
    ).json()

    assert asked["allowed"] is False
    assert asked["preview"]["scenario"] == "feature_flag"
    assert asked["preview"]["title"] == "Upgrade to use SSO"
    assert [p["id"] for p in asked["preview"]["products"]] == ["team"]
    assert asked["preview"]["products"][0]["items"][0]["feature_type"] == "boolean"
    assert "preview" not in not_asked


def test_ids_joined_differently_never_share_a_balance(customer: httpx.Client) -> None:
    """Feature `fa` with balance `1#z` and feature `fa#1` with balance `z` once shared a key:
    the second create was refused as a duplicate of the first."""
    for feature_id in ("fa", "fa#1"):
        customer.post(
            "/v1/features.create",
            json={"feature_id": feature_id, "name": feature_id, "type": "metered"},
        )
    first = customer.post(
        "/v1/balances.create",
        json={"customer_id": "u", "feature_id": "fa", "included_grant": 5, "balance_id": "1#z"},
    )
    second = customer.post(
        "/v1/balances.create",
        json={"customer_id": "u", "feature_id": "fa#1", "included_grant": 7, "balance_id": "z"},
    )

    assert (first.status_code, second.status_code) == (200, 200), second.text
    balances = customer.post("/v1/customers.get", json={"customer_id": "u"}).json()["balances"]
    assert balances["fa"]["remaining"] == 5
    assert balances["fa#1"]["remaining"] == 7
