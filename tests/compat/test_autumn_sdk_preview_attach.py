"""The official SDKs preview an attach against the local stack; their own models
(autumn-sdk's PreviewAttachResponse, autumn-js's zod schema) must accept every answer."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from autumn_sdk import Autumn
from autumn_sdk.errors import AutumnError

from local.stack import LocalStack
from tests.compat.js_sdk import AutumnJs
from tests.conftest import SDK_TIMEOUT_MS, SECRET_KEY, stripe_client

SEATS = {
    "feature_id": "seats",
    "included": 2,
    "price": {"amount": 8, "billing_units": 5, "billing_method": "prepaid", "interval": "month"},
}
OVERAGE = {
    "feature_id": "messages",
    "included": 100,
    "price": {"amount": 0.5, "billing_method": "usage_based", "interval": "month"},
}


@pytest.fixture
def catalog(api: httpx.Client) -> httpx.Client:
    for feature in (
        {"feature_id": "messages", "name": "Messages", "type": "metered"},
        {"feature_id": "seats", "name": "Seats", "type": "metered", "consumable": False},
    ):
        assert api.post("/v1/features.create", json=feature).status_code == 200
    for plan in (
        {"plan_id": "free", "name": "Free", "items": [{"feature_id": "messages", "included": 5}]},
        {
            "plan_id": "pro",
            "name": "Pro",
            "price": {"amount": 20, "interval": "month"},
            "items": [SEATS, OVERAGE],
        },
        {"plan_id": "premium", "name": "Premium", "price": {"amount": 50, "interval": "month"}},
        {"plan_id": "basic", "name": "Basic", "price": {"amount": 10, "interval": "month"}},
    ):
        assert api.post("/v1/plans.create", json=plan).status_code == 200
    assert api.post("/v1/customers.get_or_create", json={"customer_id": "c1"}).status_code == 200
    return api


@pytest.fixture
def autumn(clean_stack: LocalStack, catalog: httpx.Client) -> Iterator[Autumn]:
    with Autumn(
        secret_key=SECRET_KEY, server_url=clean_stack.api_url, timeout_ms=SDK_TIMEOUT_MS
    ) as client:
        yield client


def with_pro_on_card(catalog: httpx.Client, stack: LocalStack) -> None:
    linked = catalog.post(
        "/v1/customers.get_or_create", json={"customer_id": "c1", "create_in_stripe": True}
    ).json()
    stripe = stripe_client(stack)
    card = stripe.v1.payment_methods.attach("pm_card_visa", {"customer": linked["stripe_id"]})
    stripe.v1.customers.update(
        linked["stripe_id"], {"invoice_settings": {"default_payment_method": card.id}}
    )
    attached = catalog.post("/v1/billing.attach", json={"customer_id": "c1", "plan_id": "pro"})
    assert attached.json()["invoice"]["status"] == "paid"


def test_autumn_sdk_parses_a_new_plan_preview_with_prepaid_and_usage_items(
    autumn: Autumn,
) -> None:
    answer = autumn.billing.preview_attach(
        customer_id="c1",
        plan_id="pro",
        feature_quantities=[{"feature_id": "seats", "quantity": 7}],
    )

    assert answer.customer_id == "c1"
    assert (answer.total, answer.currency, answer.redirect_to_checkout) == (28, "usd", True)
    assert answer.checkout_type == "stripe_checkout"
    assert sorted((line.feature_id or "", line.total) for line in answer.line_items) == [
        ("", 20),
        ("seats", 8),
    ]
    assert answer.next_cycle is not None
    assert [u.feature_id for u in answer.next_cycle.usage_line_items] == ["messages"]
    (incoming,) = answer.incoming
    assert [(q.feature_id, q.quantity) for q in incoming.feature_quantities] == [("seats", 7)]


def test_autumn_sdk_parses_an_upgrade_and_a_downgrade_preview(
    autumn: Autumn, catalog: httpx.Client, clean_stack: LocalStack
) -> None:
    with_pro_on_card(catalog, clean_stack)

    upgrade = autumn.billing.preview_attach(customer_id="c1", plan_id="premium")
    downgrade = autumn.billing.preview_attach(customer_id="c1", plan_id="basic")

    assert 0 < upgrade.total <= 30
    assert any(line.total < 0 and line.plan_id == "pro" for line in upgrade.line_items)
    assert [(o.plan_id, o.plan.name) for o in upgrade.outgoing] == [("pro", "Pro")]
    assert [(i.plan_id, i.effective_at) for i in upgrade.incoming] == [("premium", None)]
    assert (downgrade.total, downgrade.line_items) == (0, [])
    (switch,) = downgrade.incoming
    assert switch.effective_at is not None
    assert downgrade.next_cycle is not None
    assert (downgrade.next_cycle.starts_at, downgrade.next_cycle.total) == (switch.effective_at, 10)


def test_autumn_sdk_sees_an_unknown_plan_as_a_404(autumn: Autumn) -> None:
    with pytest.raises(AutumnError) as refused:
        autumn.billing.preview_attach(customer_id="c1", plan_id="ghost")

    assert refused.value.status_code == 404
    assert "product_not_found" in refused.value.body


def test_autumn_js_parses_preview_answers(
    autumn_js: AutumnJs, catalog: httpx.Client, clean_stack: LocalStack
) -> None:
    (new_plan, free_plan) = autumn_js.values(
        (
            "billing.previewAttach",
            {
                "customerId": "c1",
                "planId": "pro",
                "featureQuantities": [{"featureId": "seats", "quantity": 7}],
            },
        ),
        ("billing.previewAttach", {"customerId": "c1", "planId": "free"}),
    )
    with_pro_on_card(catalog, clean_stack)
    (upgrade,) = autumn_js.values(
        ("billing.previewAttach", {"customerId": "c1", "planId": "premium"})
    )

    assert (new_plan["total"], new_plan["redirectToCheckout"]) == (28, True)
    assert new_plan["nextCycle"]["total"] == 28
    assert (free_plan["total"], free_plan["lineItems"]) == (0, [])
    assert 0 < upgrade["total"] <= 30
    assert [(o["planId"], o["plan"]["name"]) for o in upgrade["outgoing"]] == [("pro", "Pro")]
