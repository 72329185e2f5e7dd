"""The official SDKs ask for a card setup against the local stack; their own models
(autumn-sdk's SetupPaymentResponse, autumn-js's zod schema) must accept the answer."""

from __future__ import annotations

import httpx
import pytest
from autumn_sdk import Autumn
from autumn_sdk.errors import AutumnError

from local.stack import LocalStack
from tests.compat.js_sdk import AutumnJs
from tests.conftest import SDK_TIMEOUT_MS, SECRET_KEY, stripe_client

SUCCESS_URL = "https://app.example.com/card-saved"


@pytest.fixture
def catalog(api: httpx.Client) -> httpx.Client:
    plan = {"plan_id": "pro", "name": "Pro", "price": {"amount": 20, "interval": "month"}}
    assert api.post("/v1/plans.create", json=plan).status_code == 200
    assert api.post("/v1/customers.get_or_create", json={"customer_id": "c1"}).status_code == 200
    return api


def test_autumn_sdk_asks_for_a_card_setup_and_the_plan_follows_the_card(
    catalog: httpx.Client, clean_stack: LocalStack
) -> None:
    with Autumn(
        secret_key=SECRET_KEY, server_url=clean_stack.api_url, timeout_ms=SDK_TIMEOUT_MS
    ) as autumn:
        answer = autumn.billing.setup_payment(
            customer_id="c1", plan_id="pro", success_url=SUCCESS_URL
        )

    assert answer.customer_id == "c1"
    (session,) = stripe_client(clean_stack).v1.checkout.sessions.list().data
    assert (session.url, session.mode) == (answer.url, "setup")
    httpx.post(answer.url, data={"card_number": "4242 4242 4242 4242"})
    held = catalog.post("/v1/customers.get", json={"customer_id": "c1"}).json()
    assert [s["plan_id"] for s in held["subscriptions"]] == ["pro"]


def test_autumn_sdk_sees_an_unknown_customer_as_a_404(
    catalog: httpx.Client, clean_stack: LocalStack
) -> None:
    with (
        Autumn(
            secret_key=SECRET_KEY, server_url=clean_stack.api_url, timeout_ms=SDK_TIMEOUT_MS
        ) as autumn,
        pytest.raises(AutumnError) as refused,
    ):
        autumn.billing.setup_payment(customer_id="nobody", success_url=SUCCESS_URL)

    assert refused.value.status_code == 404
    assert "customer_not_found" in refused.value.body


def test_autumn_js_asks_for_a_card_setup_and_parses_the_answer(
    catalog: httpx.Client, autumn_js: AutumnJs
) -> None:
    (answer,) = autumn_js.values(
        ("billing.setupPayment", {"customerId": "c1", "successUrl": SUCCESS_URL})
    )

    assert answer["customerId"] == "c1"
    assert httpx.get(answer["url"]).status_code == 200
