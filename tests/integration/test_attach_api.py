"""billing.attach over HTTP against the local stack (the Stripe emulator behind it)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

SUCCESS_URL = "https://app.example.com/welcome"

FREE = {
    "plan_id": "free",
    "name": "Free",
    "items": [{"feature_id": "messages", "included": 100}, {"feature_id": "sso"}],
}
PRO = {
    "plan_id": "pro",
    "name": "Pro",
    "price": {"amount": 20, "interval": "month"},
    "items": [{"feature_id": "messages", "included": 1000}, {"feature_id": "sso"}],
}
TOP_UP = {
    "plan_id": "top_up",
    "name": "Top-up",
    "add_on": True,
    "price": {"amount": 5, "interval": "one_off"},
    "items": [{"feature_id": "messages", "included": 500}],
}


@pytest.fixture
def catalog(api: httpx.Client) -> httpx.Client:
    for body in (
        {"feature_id": "messages", "name": "Messages", "type": "metered"},
        {"feature_id": "sso", "name": "SSO", "type": "boolean"},
    ):
        assert api.post("/v1/features.create", json=body).status_code == 200
    for plan in (FREE, PRO, TOP_UP):
        assert api.post("/v1/plans.create", json=plan).status_code == 200, plan
    assert api.post("/v1/customers.get_or_create", json={"customer_id": "c1"}).status_code == 200
    return api


def attach(api: httpx.Client, **body: Any) -> httpx.Response:
    return api.post("/v1/billing.attach", json={"customer_id": "c1", **body})


def customer(api: httpx.Client) -> dict[str, Any]:
    answer: dict[str, Any] = api.post("/v1/customers.get", json={"customer_id": "c1"}).json()
    return answer


def test_a_free_plan_is_granted_at_once(catalog: httpx.Client) -> None:
    response = attach(catalog, plan_id="free")

    assert response.status_code == 200
    assert response.json() == {"customer_id": "c1", "payment_url": None}
    held = customer(catalog)
    assert [s["plan_id"] for s in held["subscriptions"]] == ["free"]
    assert held["balances"]["messages"]["granted"] == 100
    assert "sso" in held["flags"]
    assert held["stripe_id"] is None, "a free plan needs no Stripe customer"


def test_attaching_a_plan_already_held_is_a_409(catalog: httpx.Client) -> None:
    attach(catalog, plan_id="free")

    response = attach(catalog, plan_id="free")

    assert response.status_code == 409
    assert response.json()["code"] == "plan_already_attached"
    assert len(customer(catalog)["subscriptions"]) == 1


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"plan_id": "ghost"}, 404, "product_not_found"),
        ({"plan_id": "free", "customer_id": "nobody"}, 404, "customer_not_found"),
        ({"plan_id": "free", "redirect_mode": "sometimes"}, 400, "invalid_inputs"),
        (
            {"plan_id": "pro", "feature_quantities": [{"feature_id": "messages", "quantity": 3}]},
            400,
            "invalid_inputs",
        ),
        ({"plan_id": "pro", "success_url": "not a url"}, 400, "invalid_inputs"),
    ],
)
def test_bad_attach_requests_are_refused_and_change_nothing(
    catalog: httpx.Client, body: dict[str, Any], status: int, code: str
) -> None:
    response = attach(catalog, **body)

    assert response.status_code == status
    assert response.json()["code"] == code
    assert customer(catalog)["subscriptions"] == []
