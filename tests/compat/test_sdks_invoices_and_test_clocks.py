"""The official SDKs list a customer's invoices, embed them in the customer and advance its
test clock against the local stack; their own models (autumn-sdk's pydantic, autumn-js's zod)
must accept every answer."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from autumn_sdk import Autumn

from local.stack import LocalStack
from tests.compat.js_sdk import AutumnJs
from tests.conftest import SDK_TIMEOUT_MS, SECRET_KEY
from tests.lifecycle import paid_pro_customer

pytestmark = pytest.mark.slow


@pytest.fixture
def subscribed(api: httpx.Client, clean_stack: LocalStack) -> dict[str, Any]:
    return paid_pro_customer(api, clean_stack, "pm_card_visa")


def test_autumn_sdk_lists_invoices_embeds_them_and_advances_the_test_clock(
    clean_stack: LocalStack, subscribed: dict[str, Any]
) -> None:
    renewal_ms = (subscribed["period_end"] + 86_400) * 1000
    with Autumn(
        secret_key=SECRET_KEY, server_url=clean_stack.api_url, timeout_ms=SDK_TIMEOUT_MS
    ) as autumn:
        moved = autumn.customers.advance_test_clock(customer_id="c1", frozen_time=renewal_ms)
        listed = autumn.invoices.list(customer_id="c1")
        customer = autumn.customers.get(customer_id="c1", expand=["invoices"])

    assert (moved.customer_id, moved.frozen_time, moved.status) == ("c1", renewal_ms, "ready")
    assert [i.status for i in listed.list] == ["paid", "paid"]
    assert listed.list[0].plan_ids == ["pro"]
    assert listed.list[0].total == 20
    assert customer.invoices is not None
    assert [i.stripe_id for i in customer.invoices] == [i.stripe_id for i in listed.list]


def test_autumn_js_lists_invoices_embeds_them_and_advances_the_test_clock(
    autumn_js: AutumnJs, subscribed: dict[str, Any]
) -> None:
    renewal_ms = (subscribed["period_end"] + 86_400) * 1000

    moved, listed, customer = autumn_js.values(
        ("customers.advanceTestClock", {"customerId": "c1", "frozenTime": renewal_ms}),
        ("invoices.list", {"customerId": "c1"}),
        ("customers.get", {"customerId": "c1", "expand": ["invoices"]}),
    )

    assert (moved["customerId"], moved["frozenTime"], moved["status"]) == (
        "c1",
        renewal_ms,
        "ready",
    )
    assert [i["status"] for i in listed["list"]] == ["paid", "paid"]
    assert listed["list"][0]["planIds"] == ["pro"]
    assert [i["stripeId"] for i in customer["invoices"]] == [i["stripeId"] for i in listed["list"]]
