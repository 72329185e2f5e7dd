"""billing.update over HTTP against the local stack (the Stripe emulator behind it, its
events delivered to the stack's webhook): cancel now or at the period end, uncancel,
prepaid quantities, and a plan change done as attach."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from billing.store import keys
from local.stack import LocalStack
from tests.conftest import dynamodb_client, stripe_client
from tests.integration.test_attach_api import SEATS, TEAM, with_card_on_file

FREE = {
    "plan_id": "free",
    "name": "Free",
    "auto_enable": True,
    "items": [{"feature_id": "messages", "included": 100}],
}
PRO = {
    "plan_id": "pro",
    "name": "Pro",
    "price": {"amount": 20, "interval": "month"},
    "items": [{"feature_id": "messages", "included": 1000}],
}
PREMIUM = {
    "plan_id": "premium",
    "name": "Premium",
    "price": {"amount": 50, "interval": "month"},
    "items": [{"feature_id": "messages", "included": 5000}],
}


@pytest.fixture
def catalog(api: httpx.Client) -> httpx.Client:
    for body in (
        {"feature_id": "messages", "name": "Messages", "type": "metered"},
        SEATS,
    ):
        assert api.post("/v1/features.create", json=body).status_code == 200
    for plan in (FREE, PRO, PREMIUM, TEAM):
        assert api.post("/v1/plans.create", json=plan).status_code == 200, plan
    return api


def attach(api: httpx.Client, **body: Any) -> httpx.Response:
    return api.post("/v1/billing.attach", json={"customer_id": "c1", **body})


def update(api: httpx.Client, **body: Any) -> httpx.Response:
    return api.post("/v1/billing.update", json={"customer_id": "c1", **body})


def customer(api: httpx.Client) -> dict[str, Any]:
    answer: dict[str, Any] = api.post("/v1/customers.get", json={"customer_id": "c1"}).json()
    return answer


def plans(api: httpx.Client) -> list[str]:
    return [s["plan_id"] for s in customer(api)["subscriptions"]]


@pytest.fixture
def on_pro(catalog: httpx.Client, clean_stack: LocalStack) -> str:
    """c1 holds pro, paid with its card on file; returns its Stripe customer."""
    stripe_customer = with_card_on_file(catalog, clean_stack, "pm_card_visa")
    assert attach(catalog, plan_id="pro").json()["invoice"]["status"] == "paid"
    assert plans(catalog) == ["pro"]
    return stripe_customer


def the_subscription(stack: LocalStack, stripe_customer: str) -> Any:
    found = stripe_client(stack).v1.subscriptions.list(
        {"customer": stripe_customer, "status": "all"}
    )
    (subscription,) = found.data
    return subscription


def test_cancel_at_the_end_of_the_cycle_keeps_the_plan_until_then_and_uncancel_takes_it_back(
    catalog: httpx.Client, clean_stack: LocalStack, on_pro: str
) -> None:
    response = update(catalog, plan_id="pro", cancel_action="cancel_end_of_cycle")

    assert response.status_code == 200, response.text
    assert response.json() == {"customer_id": "c1", "payment_url": None}
    # As Autumn shows it: pro canceling, the group's default plan scheduled for its end.
    (pro, free) = customer(catalog)["subscriptions"]
    assert pro["plan_id"] == "pro"
    assert pro["canceled_at"] is not None
    assert pro["expires_at"] == pro["current_period_end"]
    assert (free["plan_id"], free["status"]) == ("free", "scheduled")
    assert free["started_at"] == pro["expires_at"]
    assert customer(catalog)["balances"]["messages"]["granted"] == 1000
    assert the_subscription(clean_stack, on_pro).cancel_at_period_end is True

    assert update(catalog, plan_id="pro", cancel_action="uncancel").status_code == 200

    (pro,) = customer(catalog)["subscriptions"]
    assert (pro["canceled_at"], pro["expires_at"]) == (None, None)
    assert the_subscription(clean_stack, on_pro).cancel_at_period_end is False

    # Cancel again: a new change, not a replay of the first one in Stripe.
    assert update(catalog, plan_id="pro", cancel_action="cancel_end_of_cycle").status_code == 200
    assert the_subscription(clean_stack, on_pro).cancel_at_period_end is True
    assert [(s["plan_id"], s["status"]) for s in customer(catalog)["subscriptions"]] == [
        ("pro", "active"),
        ("free", "scheduled"),
    ]
    assert customer(catalog)["subscriptions"][0]["canceled_at"] is not None


def test_cancel_immediately_ends_the_stripe_subscription_and_gives_back_the_default_plan(
    catalog: httpx.Client, clean_stack: LocalStack, on_pro: str
) -> None:
    catalog.post("/v1/balances.track", json={"customer_id": "c1", "feature_id": "messages"})

    response = update(catalog, plan_id="pro", cancel_action="cancel_immediately")

    assert response.status_code == 200, response.text
    held = customer(catalog)
    assert [(s["plan_id"], s["status"]) for s in held["subscriptions"]] == [("free", "active")]
    assert held["balances"]["messages"]["granted"] == 100
    assert the_subscription(clean_stack, on_pro).status == "canceled"
    # Done twice: nothing more happens.
    assert update(catalog, plan_id="pro", cancel_action="cancel_immediately").status_code == 404
    assert plans(catalog) == ["free"]


def test_cancel_without_a_plan_id_targets_the_only_main_plan(
    catalog: httpx.Client, clean_stack: LocalStack, on_pro: str
) -> None:
    assert update(catalog, cancel_action="cancel_end_of_cycle").status_code == 200

    assert customer(catalog)["subscriptions"][0]["canceled_at"] is not None


def test_more_prepaid_units_are_charged_prorated_and_granted_once_paid(
    catalog: httpx.Client, clean_stack: LocalStack
) -> None:
    stripe_customer = with_card_on_file(catalog, clean_stack, "pm_card_visa")
    seats = [{"feature_id": "seats", "quantity": 7}]
    assert attach(catalog, plan_id="team", feature_quantities=seats).status_code == 200
    assert customer(catalog)["balances"]["seats"]["granted"] == 7

    response = update(
        catalog, plan_id="team", feature_quantities=[{"feature_id": "seats", "quantity": 17}]
    )

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["invoice"]["status"] == "paid"
    # Two more packages of 5 at 8 each, for (almost all of) the month.
    assert 0 < answer["invoice"]["total"] <= 16
    assert customer(catalog)["balances"]["seats"]["granted"] == 17
    quantities = sorted(
        (i.price.unit_amount, i.quantity)
        for i in the_subscription(clean_stack, stripe_customer)["items"].data
    )
    assert quantities == [(800, 3), (3000, 1)]
    # The same quantities again: nothing to buy.
    again = update(
        catalog, plan_id="team", feature_quantities=[{"feature_id": "seats", "quantity": 17}]
    )
    assert again.json() == {"customer_id": "c1", "payment_url": None}
    invoices = stripe_client(clean_stack).v1.invoices.list({"customer": stripe_customer}).data
    assert len(invoices) == 2


def test_prepaid_units_whose_payment_fails_are_not_granted(
    catalog: httpx.Client, clean_stack: LocalStack
) -> None:
    stripe_customer = with_card_on_file(catalog, clean_stack, "pm_card_visa")
    attach(catalog, plan_id="team", feature_quantities=[{"feature_id": "seats", "quantity": 7}])
    stripe = stripe_client(clean_stack)
    failing = stripe.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", {"customer": stripe_customer}
    )
    subscription = the_subscription(clean_stack, stripe_customer)
    stripe.v1.subscriptions.update(subscription.id, {"default_payment_method": failing.id})

    answer = update(
        catalog, plan_id="team", feature_quantities=[{"feature_id": "seats", "quantity": 17}]
    ).json()

    assert answer["required_action"]["code"] == "payment_failed"
    assert customer(catalog)["balances"]["seats"]["granted"] == 7
    quantities = sorted(
        i.quantity for i in the_subscription(clean_stack, stripe_customer)["items"].data
    )
    assert quantities == [1, 1], "the pending update is not applied"


def test_a_plan_not_held_is_a_plan_change_done_as_attach(
    catalog: httpx.Client, clean_stack: LocalStack, on_pro: str
) -> None:
    response = update(catalog, plan_id="premium")

    assert response.status_code == 200, response.text
    assert response.json()["invoice"]["status"] == "paid"
    assert plans(catalog) == ["premium"]
    assert customer(catalog)["balances"]["messages"]["granted"] == 5000
    (subscription,) = stripe_client(clean_stack).v1.subscriptions.list({"customer": on_pro}).data
    assert [i.price.unit_amount for i in subscription["items"].data] == [5000]


def test_a_free_plan_cancelled_at_once_is_gone_without_stripe(
    catalog: httpx.Client, clean_stack: LocalStack
) -> None:
    catalog.post("/v1/customers.get_or_create", json={"customer_id": "c1"})
    assert plans(catalog) == ["free"]

    assert update(catalog, plan_id="free", cancel_action="cancel_immediately").status_code == 200

    assert customer(catalog)["subscriptions"] == []
    assert stripe_client(clean_stack).v1.customers.list().data == []


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"customer_id": "nobody", "cancel_action": "uncancel"}, 404, "customer_not_found"),
        ({"plan_id": "premium", "cancel_action": "cancel_immediately"}, 404, "product_not_found"),
        ({"plan_id": "ghost"}, 404, "product_not_found"),
        ({"plan_id": "pro"}, 400, "invalid_inputs"),
        ({"plan_id": "pro", "cancel_action": "later"}, 400, "invalid_inputs"),
        ({"plan_id": "pro", "customize": {"price": None}}, 400, "invalid_inputs"),
        (
            {
                "plan_id": "pro",
                "cancel_action": "uncancel",
                "feature_quantities": [{"feature_id": "messages", "quantity": 3}],
            },
            400,
            "invalid_inputs",
        ),
        (
            {"plan_id": "pro", "feature_quantities": [{"feature_id": "messages", "quantity": 3}]},
            400,
            "invalid_inputs",
        ),
        ({"subscription_id": "sub_nope", "cancel_action": "uncancel"}, 404, "product_not_found"),
    ],
)
def test_bad_update_requests_are_refused_and_change_nothing(
    catalog: httpx.Client,
    clean_stack: LocalStack,
    on_pro: str,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    response = update(catalog, **body)

    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    (pro,) = customer(catalog)["subscriptions"]
    assert (pro["plan_id"], pro["canceled_at"]) == ("pro", None)
    assert the_subscription(clean_stack, on_pro).cancel_at_period_end is False


def test_an_update_while_another_billing_change_runs_is_a_423_and_changes_nothing(
    catalog: httpx.Client, clean_stack: LocalStack, on_pro: str
) -> None:
    lock = {"PK": {"S": keys.billing_lock_pk("c1")}, "SK": {"S": "LOCK"}}
    running_until = int(time.time() * 1000) + 60_000
    dynamodb_client(clean_stack).put_item(
        TableName=clean_stack.config.table_name,
        Item={**lock, "holder": {"S": "another call"}, "until": {"N": str(running_until)}},
    )

    refused = update(catalog, plan_id="pro", cancel_action="cancel_immediately")

    assert refused.status_code == 423
    assert refused.json()["code"] == "billing_in_progress"
    assert plans(catalog) == ["pro"]
    assert the_subscription(clean_stack, on_pro).status == "active"


def test_an_update_retried_with_one_key_changes_stripe_once(
    catalog: httpx.Client, clean_stack: LocalStack, on_pro: str
) -> None:
    key = {"Idempotency-Key": "cancel-pro"}
    body = {"customer_id": "c1", "plan_id": "pro", "cancel_action": "cancel_end_of_cycle"}

    answers = [catalog.post("/v1/billing.update", json=body, headers=key) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert answers[-1].headers.get("Idempotent-Replayed") == "true"
    assert clean_stack.emulator is not None
    updates = clean_stack.emulator.events("customer.subscription.updated")
    assert sum(1 for e in updates if e["data"]["object"]["cancel_at_period_end"]) == 1


def test_a_plan_of_many_items_cancelled_at_once_is_gone_whole_and_the_default_given_back(
    catalog: httpx.Client,
) -> None:
    items = []
    for n in range(100):
        feature = {"feature_id": f"f{n}", "name": f"F{n}", "type": "metered"}
        assert catalog.post("/v1/features.create", json=feature).status_code == 200
        items.append({"feature_id": f"f{n}", "included": 1})
    big = {"plan_id": "big", "name": "Big", "items": items}
    assert catalog.post("/v1/plans.create", json=big).status_code == 200
    catalog.post("/v1/customers.get_or_create", json={"customer_id": "c1"})
    assert attach(catalog, plan_id="big").status_code == 200
    assert len(customer(catalog)["balances"]) == 100, "big replaced the default plan"

    response = update(catalog, plan_id="big", cancel_action="cancel_immediately")

    assert response.status_code == 200, response.text
    held = customer(catalog)
    assert [s["plan_id"] for s in held["subscriptions"]] == ["free"]
    assert list(held["balances"]) == ["messages"]


def test_a_move_to_free_asked_again_after_uncancel_is_set_again_in_stripe(
    catalog: httpx.Client, clean_stack: LocalStack, on_pro: str
) -> None:
    assert attach(catalog, plan_id="free").status_code == 200
    assert update(catalog, plan_id="pro", cancel_action="uncancel").status_code == 200
    assert the_subscription(clean_stack, on_pro).cancel_at_period_end is False

    again = attach(catalog, plan_id="free")

    # A new change in Stripe, not a replay of the first request's answer.
    assert again.status_code == 200, again.text
    assert the_subscription(clean_stack, on_pro).cancel_at_period_end is True
    assert [(s["plan_id"], s["status"]) for s in customer(catalog)["subscriptions"]] == [
        ("pro", "active"),
        ("free", "scheduled"),
    ]
