"""The official SDKs drive billing.update against the local stack; their own models
(autumn-sdk's BillingUpdateResponse, autumn-js's zod schema) must accept every answer."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from autumn_sdk import Autumn
from autumn_sdk.errors import AutumnError

from local.stack import LocalStack
from tests.compat.js_sdk import AutumnJs
from tests.conftest import SDK_TIMEOUT_MS, SECRET_KEY, stripe_client

TEAM = {
    "plan_id": "team",
    "name": "Team",
    "price": {"amount": 30, "interval": "month"},
    "items": [
        {
            "feature_id": "seats",
            "included": 2,
            "price": {
                "amount": 8,
                "billing_units": 5,
                "billing_method": "prepaid",
                "interval": "month",
            },
        }
    ],
}


@pytest.fixture
def on_team(api: httpx.Client, clean_stack: LocalStack) -> httpx.Client:
    """c1 holds the team plan (7 seats), paid with its card on file."""
    body = {"feature_id": "seats", "name": "Seats", "type": "metered", "consumable": False}
    assert api.post("/v1/features.create", json=body).status_code == 200
    assert api.post("/v1/plans.create", json=TEAM).status_code == 200
    linked = api.post(
        "/v1/customers.get_or_create", json={"customer_id": "c1", "create_in_stripe": True}
    ).json()
    stripe = stripe_client(clean_stack)
    card = stripe.v1.payment_methods.attach("pm_card_visa", {"customer": linked["stripe_id"]})
    stripe.v1.customers.update(
        linked["stripe_id"], {"invoice_settings": {"default_payment_method": card.id}}
    )
    seats = [{"feature_id": "seats", "quantity": 7}]
    attached = api.post(
        "/v1/billing.attach",
        json={"customer_id": "c1", "plan_id": "team", "feature_quantities": seats},
    )
    assert attached.status_code == 200, attached.text
    return api


@pytest.fixture
def autumn(clean_stack: LocalStack, on_team: httpx.Client) -> Iterator[Autumn]:
    with Autumn(
        secret_key=SECRET_KEY, server_url=clean_stack.api_url, timeout_ms=SDK_TIMEOUT_MS
    ) as client:
        yield client


def held(api: httpx.Client) -> dict[str, object]:
    (team,) = api.post("/v1/customers.get", json={"customer_id": "c1"}).json()["subscriptions"]
    assert isinstance(team, dict)
    return team


def test_autumn_sdk_cancels_at_the_period_end_and_takes_it_back(
    autumn: Autumn, on_team: httpx.Client
) -> None:
    answer = autumn.billing.update(
        customer_id="c1", plan_id="team", cancel_action="cancel_end_of_cycle"
    )

    assert (answer.customer_id, answer.payment_url, answer.invoice) == ("c1", None, None)
    assert held(on_team)["canceled_at"] is not None

    autumn.billing.update(customer_id="c1", plan_id="team", cancel_action="uncancel")

    assert held(on_team)["canceled_at"] is None


def test_autumn_sdk_buys_more_seats_and_parses_the_invoice(
    autumn: Autumn, on_team: httpx.Client
) -> None:
    answer = autumn.billing.update(
        customer_id="c1",
        plan_id="team",
        feature_quantities=[{"feature_id": "seats", "quantity": 12}],
    )

    assert answer.invoice is not None
    assert answer.invoice.status == "paid"
    assert 0 < answer.invoice.total <= 8
    balances = on_team.post("/v1/customers.get", json={"customer_id": "c1"}).json()["balances"]
    assert balances["seats"]["granted"] == 12


def test_autumn_sdk_sees_a_plan_not_held_cancelled_as_a_404(autumn: Autumn) -> None:
    with pytest.raises(AutumnError) as refused:
        autumn.billing.update(customer_id="c1", plan_id="ghost", cancel_action="uncancel")

    assert refused.value.status_code == 404


def test_autumn_js_updates_and_parses_the_answers(
    autumn_js: AutumnJs, on_team: httpx.Client
) -> None:
    canceled, uncanceled = autumn_js.values(
        (
            "billing.update",
            {"customerId": "c1", "planId": "team", "cancelAction": "cancel_end_of_cycle"},
        ),
        (
            "billing.update",
            {"customerId": "c1", "planId": "team", "cancelAction": "uncancel"},
        ),
    )
    assert (canceled["customerId"], canceled["paymentUrl"]) == ("c1", None)
    assert uncanceled["customerId"] == "c1"
    assert held(on_team)["canceled_at"] is None

    (bought,) = autumn_js.values(
        (
            "billing.update",
            {
                "customerId": "c1",
                "planId": "team",
                "featureQuantities": [{"featureId": "seats", "quantity": 12}],
            },
        )
    )
    assert bought["invoice"]["status"] == "paid"
    assert bought["invoice"]["stripeId"].startswith("in_")
    (gone,) = autumn_js.calls(
        (
            "billing.update",
            {"customerId": "c1", "planId": "team", "cancelAction": "cancel_immediately"},
        )
    )
    assert gone["ok"], gone
    answer = on_team.post("/v1/customers.get", json={"customer_id": "c1"}).json()
    assert answer["subscriptions"] == []


def test_autumn_js_previews_updates_and_parses_the_answers(
    autumn_js: AutumnJs, on_team: httpx.Client
) -> None:
    more_seats, gone = autumn_js.values(
        (
            "billing.previewUpdate",
            {
                "customerId": "c1",
                "planId": "team",
                "featureQuantities": [{"featureId": "seats", "quantity": 12}],
            },
        ),
        (
            "billing.previewUpdate",
            {"customerId": "c1", "planId": "team", "cancelAction": "cancel_immediately"},
        ),
    )

    assert more_seats["customerId"] == "c1"
    assert 0 < more_seats["total"] <= 8, "one more pack of 5 seats, prorated"
    assert more_seats["lineItems"], more_seats
    assert gone["total"] < 0, "the unused time of the month is credited"
    assert [p["planId"] for p in gone["outgoing"]] == ["team"]
    assert held(on_team)["canceled_at"] is None, "a preview changes nothing"
