"""Overage billed in arrears under the default overage_behavior, as Autumn bills it (its
invoice.created consumable scenarios): a plan item with a usage-based price takes every use
past its allowance, and the renewal bills the base price plus the overage, to the cent."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from local.stack import LocalStack
from tests.conftest import stripe_client
from tests.stripe_clocks import advance

pytestmark = pytest.mark.slow

CENT = Decimal("0.01")


def pro_with_overage(unit_price: float, billing_units: int) -> dict[str, Any]:
    """$20 a month, 100 messages included, then `unit_price` per `billing_units` messages."""
    return {
        "plan_id": "pro",
        "name": "Pro",
        "price": {"amount": 20, "interval": "month"},
        "items": [
            {
                "feature_id": "messages",
                "included": 100,
                "reset": {"interval": "month"},
                "price": {
                    "amount": unit_price,
                    "interval": "month",
                    "billing_method": "usage_based",
                    "billing_units": billing_units,
                },
            }
        ],
    }


def subscribe(api: httpx.Client, stack: LocalStack, plan: dict[str, Any]) -> dict[str, Any]:
    """Customer c1 on `plan`, paid with a card on file; its Stripe customer on a test clock."""
    feature = {"feature_id": "messages", "name": "Messages", "type": "metered"}
    assert api.post("/v1/features.create", json=feature).status_code == 200
    created = api.post("/v1/plans.create", json=plan)
    assert created.status_code == 200, created.text
    linked = api.post(
        "/v1/customers.get_or_create", json={"customer_id": "c1", "create_in_stripe": True}
    ).json()
    stripe = stripe_client(stack)
    card = stripe.v1.payment_methods.attach("pm_card_visa", {"customer": linked["stripe_id"]})
    stripe.v1.customers.update(
        linked["stripe_id"], {"invoice_settings": {"default_payment_method": card.id}}
    )
    attached = api.post("/v1/billing.attach", json={"customer_id": "c1", "plan_id": "pro"})
    assert attached.status_code == 200, attached.text
    (subscription,) = stripe.v1.subscriptions.list({"customer": linked["stripe_id"]}).data
    return {
        "clock": stripe.v1.customers.retrieve(linked["stripe_id"]).test_clock,
        "period_end": subscription["items"].data[0].current_period_end,
    }


def invoice_totals(api: httpx.Client) -> list[Decimal]:
    """The customer's invoices, oldest first, in dollars as the API shows them."""
    listed = api.post("/v1/invoices.list", json={"customer_id": "c1"})
    assert listed.status_code == 200, listed.text
    invoices = sorted(listed.json()["list"], key=lambda i: i["created_at"])
    return [Decimal(str(i["total"])).quantize(CENT) for i in invoices]


def messages(api: httpx.Client) -> dict[str, Any]:
    answer = api.post("/v1/customers.get", json={"customer_id": "c1"}).json()
    balance: dict[str, Any] = answer["balances"]["messages"]
    return balance


@pytest.mark.parametrize(
    ("unit_price", "billing_units", "used", "renewal"),
    [
        # 150.5 past the allowance: 151 whole units at $0.10.
        (0.1, 1, 250.5, Decimal("35.10")),
        # Within the allowance: the base price alone.
        (0.1, 1, 50, Decimal("20.00")),
        # 900 past it at $0.10.
        (0.1, 1, 1000, Decimal("110.00")),
        # 55 past it rounds up to 6 packages of 10 at $1.
        (1, 10, 155, Decimal("26.00")),
    ],
)
def test_the_renewal_bills_overage_tracked_with_the_default_overage_behavior(
    api: httpx.Client,
    clean_stack: LocalStack,
    unit_price: float,
    billing_units: int,
    used: float,
    renewal: Decimal,
) -> None:
    held = subscribe(api, clean_stack, pro_with_overage(unit_price, billing_units))
    # No overage_behavior: Autumn's default, `cap`.
    tracked = api.post(
        "/v1/balances.track", json={"customer_id": "c1", "feature_id": "messages", "value": used}
    )
    assert tracked.status_code == 200, tracked.text
    taken = sum(Decimal(str(d["value"])) for d in tracked.json()["deductions"])
    assert taken == Decimal(str(used))
    # Past the allowance the answer shows the use as usage and nothing remaining (Autumn's
    # Balance has no negative remaining).
    shown = messages(api)
    assert Decimal(str(shown["remaining"])) == max(100 - Decimal(str(used)), Decimal(0))
    assert Decimal(str(shown["usage"])) == Decimal(str(used))
    # Overage is allowed: a check still lets the customer use the feature.
    checked = api.post("/v1/balances.check", json={"customer_id": "c1", "feature_id": "messages"})
    assert checked.json()["allowed"] is True

    advance(stripe_client(clean_stack), held["clock"], held["period_end"] + 86400)

    assert invoice_totals(api) == [Decimal("20.00"), renewal]
    balance = messages(api)
    assert (balance["usage"], balance["remaining"]) == (0, 100)


def test_cancel_immediately_credits_the_unused_time_and_bills_no_overage(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    """Autumn's cancel-consumable scenario: 400 messages past the allowance, then cancel
    immediately at the start of the cycle. Autumn's final invoice is the base price's credit
    alone (-$20); overage billed in arrears is not charged on an immediate cancel (only a
    period that closes bills it), and the preview says the same total."""
    subscribe(api, clean_stack, pro_with_overage(0.1, 1))
    tracked = api.post(
        "/v1/balances.track", json={"customer_id": "c1", "feature_id": "messages", "value": 500}
    )
    assert tracked.status_code == 200, tracked.text
    cancel = {"customer_id": "c1", "plan_id": "pro", "cancel_action": "cancel_immediately"}

    preview = api.post("/v1/billing.preview_update", json=cancel)
    assert preview.status_code == 200, preview.text
    canceled = api.post("/v1/billing.update", json=cancel)

    assert canceled.status_code == 200, canceled.text
    # The attach's $20 and the final invoice (made in the same second, so sorted by amount).
    credit, paid = sorted(invoice_totals(api))
    assert paid == Decimal("20.00")
    # Cancelled within seconds of the attach: the whole month's credit, to within the
    # cents those seconds of proration take; no overage ($40) on it.
    assert Decimal("-20.00") <= credit <= Decimal("-19.98"), credit
    assert Decimal(str(preview.json()["total"])).quantize(CENT) == credit
    held = api.post("/v1/customers.get", json={"customer_id": "c1"}).json()
    assert held["subscriptions"] == []
