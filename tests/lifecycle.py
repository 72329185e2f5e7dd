"""A customer paying for a plan with usage billed in arrears, on a Stripe test clock: the
starting point of the lifecycle tests (integration and SDK compat)."""

from __future__ import annotations

from typing import Any

import httpx

from local.stack import LocalStack
from tests.conftest import stripe_client

PRO = {
    "plan_id": "pro",
    "name": "Pro",
    "price": {"amount": 20, "interval": "month"},
    "items": [
        {
            "feature_id": "messages",
            "included": 100,
            "price": {"amount": 0.5, "interval": "month", "billing_method": "usage_based"},
        }
    ],
}


def paid_pro_customer(api: httpx.Client, stack: LocalStack, card: str) -> dict[str, Any]:
    """Customer c1 on Pro (usage-based overage), paid with `card` on file; its Stripe customer
    on a test clock of its own."""
    assert (
        api.post(
            "/v1/features.create",
            json={"feature_id": "messages", "name": "Messages", "type": "metered"},
        ).status_code
        == 200
    )
    assert api.post("/v1/plans.create", json=PRO).status_code == 200
    linked = api.post(
        "/v1/customers.get_or_create", json={"customer_id": "c1", "create_in_stripe": True}
    ).json()
    stripe = stripe_client(stack)
    method = stripe.v1.payment_methods.attach(card, {"customer": linked["stripe_id"]})
    stripe.v1.customers.update(
        linked["stripe_id"], {"invoice_settings": {"default_payment_method": method.id}}
    )
    attached = api.post("/v1/billing.attach", json={"customer_id": "c1", "plan_id": "pro"})
    assert attached.status_code == 200, attached.text
    assert attached.json().get("required_action") is None
    stripe_customer = stripe.v1.customers.retrieve(linked["stripe_id"])
    (subscription,) = stripe.v1.subscriptions.list({"customer": linked["stripe_id"]}).data
    return {
        "stripe_id": linked["stripe_id"],
        "clock": stripe_customer.test_clock,
        "subscription": subscription.id,
        "period_end": subscription["items"].data[0].current_period_end,
    }
