"""The official SDKs open the customer portal against the local stack; their own models
(autumn-sdk's OpenCustomerPortalResponse, autumn-js's zod schema) must accept the answer."""

from __future__ import annotations

import httpx
from autumn_sdk import Autumn

from local.stack import LocalStack
from tests.compat.js_sdk import AutumnJs
from tests.conftest import SDK_TIMEOUT_MS, SECRET_KEY


def test_autumn_sdk_opens_the_portal_and_parses_the_answer(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    api.post("/v1/customers.get_or_create", json={"customer_id": "c1"})

    with Autumn(
        secret_key=SECRET_KEY, server_url=clean_stack.api_url, timeout_ms=SDK_TIMEOUT_MS
    ) as autumn:
        answer = autumn.billing.open_customer_portal(
            customer_id="c1", return_url="https://app.example.com/account"
        )

    assert answer.customer_id == "c1"
    assert httpx.get(answer.url).status_code == 200


def test_autumn_js_opens_the_portal_and_parses_the_answer(
    api: httpx.Client, autumn_js: AutumnJs
) -> None:
    api.post("/v1/customers.get_or_create", json={"customer_id": "c1"})

    (answer,) = autumn_js.values(
        (
            "billing.openCustomerPortal",
            {"customerId": "c1", "returnUrl": "https://app.example.com/account"},
        )
    )

    assert answer["customerId"] == "c1"
    assert answer["url"].startswith("http")
