"""A payment that comes after its purchase attempt was closed here, over the local stack and
the Stripe emulator: given back in Stripe, never granted."""

from __future__ import annotations

import json

import httpx
import pytest

from local.stack import LocalStack
from tests.conftest import dynamodb_client, stripe_client, table_items
from tests.integration.test_attach_api import (  # noqa: F401 (fixtures)
    SUCCESS_URL,
    attach,
    catalog,
    customer,
    pay_on_checkout_page,
    webhooks,
)

pytestmark = pytest.mark.realistic_delivery


def close_attempt_here(stack: LocalStack, plan_id: str, status: str) -> None:
    """The attempt closed in our table while its page was being paid: the window a newer
    attempt (or the page's expiry) leaves between Stripe taking the payment and us
    reading it, which ordinary calls cannot hit on purpose."""
    (item,) = [
        i
        for i in table_items(stack)
        if i.get("entity", {}).get("S") == "purchase"
        and json.loads(i["body"]["S"])["plan_id"] == plan_id
    ]
    dynamodb_client(stack).update_item(
        TableName=stack.config.table_name,
        Key={"PK": item["PK"], "SK": item["SK"]},
        UpdateExpression="SET #status = :closed",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={":closed": {"S": status}},
    )


@pytest.mark.parametrize("closed_as", ["superseded", "abandoned"])
def test_a_one_off_checkout_paid_after_its_attempt_was_closed_is_refunded_not_granted(
    catalog: httpx.Client,  # noqa: F811
    webhooks: LocalStack,  # noqa: F811
    closed_as: str,
) -> None:
    page = attach(catalog, plan_id="top_up", success_url=SUCCESS_URL).json()["payment_url"]
    close_attempt_here(webhooks, "top_up", closed_as)

    paid = pay_on_checkout_page(page, "4242424242424242")

    assert paid.status_code == 303, "Stripe took the payment"
    held = customer(catalog)
    assert held["purchases"] == [], "nothing granted for a closed attempt"
    stripe = stripe_client(webhooks)
    (refund,) = stripe.v1.refunds.list().data
    assert (refund.amount, refund.status) == (500, "succeeded"), "the payment went back"
    statuses = [
        i["status"]["S"]
        for i in table_items(webhooks)
        if i.get("entity", {}).get("S") == "purchase"
    ]
    assert statuses == ["refunded"]
