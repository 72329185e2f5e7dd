"""The official SDKs drive billing.attach against the local stack; their own models
(autumn-sdk's AttachResponse, autumn-js's zod schema) must accept every answer."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from autumn_sdk import Autumn
from autumn_sdk.errors import AutumnError

from local.stack import LocalStack
from tests.compat.js_sdk import AutumnJs
from tests.conftest import SDK_TIMEOUT_MS, SECRET_KEY, stripe_client


@pytest.fixture
def catalog(api: httpx.Client) -> httpx.Client:
    api.post("/v1/features.create", json={"feature_id": "messages", "name": "M", "type": "metered"})
    for plan in (
        {"plan_id": "free", "name": "Free", "items": [{"feature_id": "messages", "included": 5}]},
        {"plan_id": "pro", "name": "Pro", "price": {"amount": 20, "interval": "month"}},
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


def test_autumn_sdk_attaches_a_free_plan_and_parses_the_answer(
    autumn: Autumn, catalog: httpx.Client
) -> None:
    answer = autumn.billing.attach(customer_id="c1", plan_id="free")

    assert answer.customer_id == "c1"
    assert answer.payment_url is None
    assert answer.required_action is None
    held = catalog.post("/v1/customers.get", json={"customer_id": "c1"}).json()
    assert [s["plan_id"] for s in held["subscriptions"]] == ["free"]


def test_autumn_sdk_sees_plan_already_attached_as_a_409(autumn: Autumn) -> None:
    autumn.billing.attach(customer_id="c1", plan_id="free")

    with pytest.raises(AutumnError) as refused:
        autumn.billing.attach(customer_id="c1", plan_id="free")

    assert refused.value.status_code == 409
    assert "plan_already_attached" in refused.value.body


def test_autumn_js_attaches_a_free_plan_and_parses_the_answer(
    autumn_js: AutumnJs, catalog: httpx.Client
) -> None:
    (answer,) = autumn_js.values(("billing.attach", {"customerId": "c1", "planId": "free"}))

    assert answer["customerId"] == "c1"
    assert answer["paymentUrl"] is None
    held = catalog.post("/v1/customers.get", json={"customer_id": "c1"}).json()
    assert [s["plan_id"] for s in held["subscriptions"]] == ["free"]


def test_autumn_sdk_parses_a_checkout_answer_and_a_paid_invoice(
    autumn: Autumn, catalog: httpx.Client, clean_stack: LocalStack
) -> None:
    checkout = autumn.billing.attach(
        customer_id="c1", plan_id="pro", success_url="https://app.example.com/done"
    )
    assert checkout.payment_url is not None
    assert checkout.invoice is None

    customer = catalog.post("/v1/customers.get", json={"customer_id": "c1"}).json()
    stripe = stripe_client(clean_stack)
    stripe.v1.payment_methods.attach("pm_card_visa", {"customer": customer["stripe_id"]})
    paid = autumn.billing.attach(customer_id="c1", plan_id="pro", redirect_mode="if_required")

    assert paid.payment_url is None
    assert paid.invoice is not None
    assert (paid.invoice.status, paid.invoice.total, paid.invoice.currency) == ("paid", 20, "usd")


def test_autumn_sdk_parses_a_required_action(
    autumn: Autumn, catalog: httpx.Client, clean_stack: LocalStack
) -> None:
    linked = catalog.post(
        "/v1/customers.get_or_create", json={"customer_id": "c1", "create_in_stripe": True}
    ).json()
    stripe_client(clean_stack).v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", {"customer": linked["stripe_id"]}
    )

    answer = autumn.billing.attach(customer_id="c1", plan_id="pro")

    assert answer.required_action is not None
    assert answer.required_action.code == "payment_failed"


def test_autumn_js_parses_checkout_and_required_action_answers(
    autumn_js: AutumnJs, catalog: httpx.Client, clean_stack: LocalStack
) -> None:
    (checkout,) = autumn_js.values(
        (
            "billing.attach",
            {"customerId": "c1", "planId": "pro", "successUrl": "https://app.example.com/done"},
        )
    )
    assert checkout["paymentUrl"].startswith("http")

    customer = catalog.post("/v1/customers.get", json={"customer_id": "c1"}).json()
    stripe_client(clean_stack).v1.payment_methods.attach(
        "pm_card_authenticationRequired", {"customer": customer["stripe_id"]}
    )
    (needs_action,) = autumn_js.values(("billing.attach", {"customerId": "c1", "planId": "pro"}))

    assert needs_action["requiredAction"]["code"] == "3ds_required"
    assert needs_action["paymentUrl"] == needs_action["invoice"]["hostedInvoiceUrl"]
