"""A newcomer's first paid attach names no success_url: Checkout then sends the customer back
to the configured default (CHECKOUT_SUCCESS_URL; locally, the stack's own "payment complete"
page), through both official SDKs, and the paid page grants the plan."""

from __future__ import annotations

import httpx
import pytest
from autumn_sdk import Autumn

from local.stack import LocalStack
from tests.compat.js_sdk import AutumnJs
from tests.conftest import SDK_TIMEOUT_MS, SECRET_KEY, stripe_client

PAGE_TIMEOUT_S = 120


@pytest.fixture
def paid_catalog(api: httpx.Client) -> httpx.Client:
    api.post("/v1/features.create", json={"feature_id": "messages", "name": "M", "type": "metered"})
    plan = {
        "plan_id": "pro",
        "name": "Pro",
        "price": {"amount": 20, "interval": "month"},
        "items": [{"feature_id": "messages", "included": 1000, "reset": {"interval": "month"}}],
    }
    assert api.post("/v1/plans.create", json=plan).status_code == 200
    return api


def pay_and_come_back(payment_url: str, stack: LocalStack) -> httpx.Response:
    """Pays the emulator's Checkout page with 4242 and follows Stripe's redirect."""
    page = httpx.get(payment_url, timeout=PAGE_TIMEOUT_S)
    assert page.status_code == 200
    assert "name='card_number'" in page.text
    paid = httpx.post(
        payment_url, data={"card_number": "4242 4242 4242 4242"}, timeout=PAGE_TIMEOUT_S
    )
    assert paid.status_code == 303
    assert paid.headers["location"] == stack.payment_complete_url
    back = httpx.get(paid.headers["location"], timeout=PAGE_TIMEOUT_S)
    assert back.status_code == 200
    assert "Payment complete" in back.text
    assert f"href='{stack.dashboard_url}'" in back.text
    return back


def plans_held(api: httpx.Client, customer_id: str) -> dict[str, str]:
    held = api.post("/v1/customers.get", json={"customer_id": customer_id}).json()
    return {s["plan_id"]: s["status"] for s in held["subscriptions"]}


def test_autumn_sdk_attach_without_success_url_pays_on_checkout_and_grants_the_plan(
    clean_stack: LocalStack, paid_catalog: httpx.Client
) -> None:
    with Autumn(
        secret_key=SECRET_KEY, server_url=clean_stack.api_url, timeout_ms=SDK_TIMEOUT_MS
    ) as autumn:
        autumn.customers.get_or_create(customer_id="ada", email="ada@example.com")
        answer = autumn.billing.attach(customer_id="ada", plan_id="pro")

    assert answer.payment_url is not None
    assert plans_held(paid_catalog, "ada") == {}, "nothing granted before Stripe says paid"
    pay_and_come_back(answer.payment_url, clean_stack)
    assert plans_held(paid_catalog, "ada") == {"pro": "active"}


def test_autumn_js_attach_without_success_url_pays_on_checkout_and_grants_the_plan(
    autumn_js: AutumnJs, clean_stack: LocalStack, paid_catalog: httpx.Client
) -> None:
    _, answer = autumn_js.values(
        ("customers.getOrCreate", {"customerId": "grace", "email": "grace@example.com"}),
        ("billing.attach", {"customerId": "grace", "planId": "pro"}),
    )

    assert answer["paymentUrl"]
    pay_and_come_back(answer["paymentUrl"], clean_stack)
    assert plans_held(paid_catalog, "grace") == {"pro": "active"}


def test_setup_payment_without_success_url_comes_back_to_the_default_page(
    clean_stack: LocalStack, paid_catalog: httpx.Client
) -> None:
    paid_catalog.post("/v1/customers.get_or_create", json={"customer_id": "lin"})

    answer = paid_catalog.post("/v1/billing.setup_payment", json={"customer_id": "lin"})

    assert answer.status_code == 200, answer.text
    (session,) = stripe_client(clean_stack).v1.checkout.sessions.list().data
    assert session.mode == "setup"
    assert session.success_url == clean_stack.payment_complete_url
