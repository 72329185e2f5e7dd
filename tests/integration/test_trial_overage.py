"""Usage past the allowance during a free trial, as Autumn bills it (its trial-features and
invoice.created consumable-trial scenarios): the invoice at the trial's end bills the base
price alone, the trial's usage billed in arrears is not reset there but carried into the
first paid period, and that period's renewal bills it with the period's own usage, once."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from local.stack import LocalStack
from tests.conftest import stripe_client
from tests.integration.test_overage_invoices import (
    BASIC,
    MESSAGES,
    invoice_totals,
    messages,
    pro_with_overage,
    redelivered_unseen,
)
from tests.stripe_clocks import advance

pytestmark = pytest.mark.slow

DAY = 86400
TRIAL = {"duration_length": 7, "duration_type": "day"}


def on_trial(api: httpx.Client, stack: LocalStack, *also: dict[str, Any]) -> dict[str, Any]:
    """Customer c1 trialing Pro ($20 a month, 100 messages included, then $0.10 each; a
    7-day trial), a card on file; its Stripe customer on a test clock. The plans `also` are
    in the catalog too."""
    assert api.post("/v1/features.create", json=MESSAGES).status_code == 200
    for other in also:
        assert api.post("/v1/plans.create", json=other).status_code == 200
    plan = {**pro_with_overage(0.1, 1), "free_trial": TRIAL}
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
    assert subscription.status == "trialing"
    return {
        "clock": stripe.v1.customers.retrieve(linked["stripe_id"]).test_clock,
        "trial_end": subscription.trial_end,
        "stripe_customer": linked["stripe_id"],
    }


def track(api: httpx.Client, value: int) -> None:
    used = {"customer_id": "c1", "feature_id": "messages", "value": value}
    tracked = api.post("/v1/balances.track", json=used)
    assert tracked.status_code == 200, tracked.text


def usage_and_remaining(api: httpx.Client) -> tuple[Decimal, Decimal]:
    shown = messages(api)
    return Decimal(str(shown["usage"])), Decimal(str(shown["remaining"]))


@pytest.mark.realistic_delivery
def test_trial_overage_is_billed_by_the_first_paid_renewal_not_at_the_trials_end(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    """150 messages tracked during the trial (50 past the allowance). The trial's end bills
    $20 alone and keeps the 150 used; 20 more in the first paid period; its renewal bills
    $20 and the 70 past the allowance ($7), then the balance starts again. However often
    (and late) Stripe's events come, nothing is billed twice."""
    held = on_trial(api, clean_stack)
    track(api, 150)
    stripe = stripe_client(clean_stack)

    advance(stripe, held["clock"], held["trial_end"] + DAY)

    assert invoice_totals(api) == [Decimal("0.00"), Decimal("20.00")]
    # Not reset at the trial's end: the trial's usage counts in the first paid period.
    assert usage_and_remaining(api) == (Decimal(150), Decimal(0))
    (pro,) = api.post("/v1/customers.get", json={"customer_id": "c1"}).json()["subscriptions"]
    assert pro["trial_ends_at"] is None
    assert pro["current_period_start"] == held["trial_end"] * 1000
    first_paid_end = pro["current_period_end"] // 1000
    # Stripe delivers the trial's end again after we forgot we saw it: nothing changes.
    redelivered_unseen(clean_stack, "invoice.created")
    redelivered_unseen(clean_stack, "invoice.paid")
    assert invoice_totals(api) == [Decimal("0.00"), Decimal("20.00")]
    assert usage_and_remaining(api) == (Decimal(150), Decimal(0))

    track(api, 20)
    advance(stripe, held["clock"], first_paid_end + DAY)

    assert invoice_totals(api) == [Decimal("0.00"), Decimal("20.00"), Decimal("27.00")]
    assert usage_and_remaining(api) == (Decimal(0), Decimal(100))


def test_usage_within_the_allowance_during_the_trial_counts_toward_the_first_paid_period(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    """80 used in the trial, 50 in the first paid period: together 30 past the allowance,
    billed by the first paid renewal ($20 + $3), as Autumn counts the trial's usage there."""
    held = on_trial(api, clean_stack)
    track(api, 80)
    stripe = stripe_client(clean_stack)
    advance(stripe, held["clock"], held["trial_end"] + DAY)
    assert usage_and_remaining(api) == (Decimal(80), Decimal(20))

    track(api, 50)
    (pro,) = api.post("/v1/customers.get", json={"customer_id": "c1"}).json()["subscriptions"]
    advance(stripe, held["clock"], pro["current_period_end"] // 1000 + DAY)

    assert invoice_totals(api) == [Decimal("0.00"), Decimal("20.00"), Decimal("23.00")]


def test_a_downgrade_scheduled_during_the_trial_bills_none_of_the_trials_overage(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    """A move to Basic ($10) asked for during the trial switches in at its end, on the same
    subscription: the trial's end bills Basic's price alone (Autumn bills no trial usage at
    the trial's end, and the plan it was used on leaves there)."""
    held = on_trial(api, clean_stack, BASIC)
    track(api, 150)
    asked = api.post("/v1/billing.attach", json={"customer_id": "c1", "plan_id": "basic"})
    assert asked.status_code == 200, asked.text

    advance(stripe_client(clean_stack), held["clock"], held["trial_end"] + DAY)

    assert invoice_totals(api) == [Decimal("0.00"), Decimal("10.00")]
    shown = api.post("/v1/customers.get", json={"customer_id": "c1"}).json()
    assert [s["plan_id"] for s in shown["subscriptions"]] == ["basic"]
    assert (shown["balances"]["messages"]["usage"], shown["balances"]["messages"]["remaining"]) == (
        0,
        50,
    )
