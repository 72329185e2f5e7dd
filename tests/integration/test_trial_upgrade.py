"""An immediate upgrade made while the paid plan held is still in its free trial, as Autumn
makes it (its attach free-trial trial-upgrade scenarios): to a plan without a trial of its
own, the trial ends at once, the new plan's full price is charged now (and shown so by the
preview), its first paid period starts now with fresh balances, and the trial's usage is
billed by no one. A declined card changes nothing: the trial goes on, with its usage."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from local.stack import LocalStack
from tests.conftest import stripe_client
from tests.integration.test_overage_invoices import (
    PREMIUM,
    messages,
    pro_with_overage,
    subscribe,
)
from tests.integration.test_trial_overage import on_trial, track
from tests.integration.test_upgrade_overage import UPGRADE, dollars, invoices, paying_with
from tests.stripe_clocks import advance

pytestmark = pytest.mark.slow

DAY = 86400


def premium_held(api: httpx.Client) -> dict[str, Any]:
    answer = api.post("/v1/customers.get", json={"customer_id": "c1"}).json()
    (held,) = answer["subscriptions"]
    assert held["plan_id"] == "premium"
    return dict(held)


def stripe_subscription(stack: LocalStack, stripe_customer: str) -> Any:
    (subscription,) = stripe_client(stack).v1.subscriptions.list({"customer": stripe_customer}).data
    return subscription


@pytest.mark.realistic_delivery
def test_an_upgrade_during_a_trial_to_a_plan_without_one_ends_the_trial_and_charges_it_now(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    trialing = on_trial(api, clean_stack, PREMIUM)
    track(api, 150)  # 50 past Pro's allowance, during the trial: never billed

    preview = api.post("/v1/billing.preview_attach", json=UPGRADE)
    assert preview.status_code == 200, preview.text
    assert dollars(preview.json()["total"]) == Decimal("50.00")
    attached = api.post("/v1/billing.attach", json=UPGRADE)
    assert attached.status_code == 200, attached.text
    assert dollars(attached.json()["invoice"]["total"]) == Decimal("50.00")
    # The same attach asked again charges nothing more.
    again = api.post("/v1/billing.attach", json=UPGRADE)
    assert again.status_code in (200, 409), again.text

    subscription = stripe_subscription(clean_stack, trialing["stripe_customer"])
    assert subscription.status == "active"
    assert subscription.trial_end < trialing["trial_end"]
    started = subscription["items"].data[0].current_period_start
    assert started == subscription.trial_end
    premium = premium_held(api)
    assert (premium["status"], premium["trial_ends_at"]) == ("active", None)
    balance = messages(api)
    assert (Decimal(str(balance["granted"])), Decimal(str(balance["usage"]))) == (1000, 0)
    assert invoices(api) == [(Decimal("0.00"), "paid"), (Decimal("50.00"), "paid")]

    # The first paid period's renewal: Premium's $50 alone, none of the trial's usage.
    period_end = subscription["items"].data[0].current_period_end
    assert period_end - started >= 28 * DAY
    advance(stripe_client(clean_stack), trialing["clock"], period_end + DAY)
    assert invoices(api) == [
        (Decimal("0.00"), "paid"),
        (Decimal("50.00"), "paid"),
        (Decimal("50.00"), "paid"),
    ]


def test_a_declined_upgrade_during_a_trial_keeps_the_trial_and_a_retry_charges_once(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    trialing = on_trial(api, clean_stack, PREMIUM)
    track(api, 150)
    paying_with(clean_stack, trialing, "pm_card_chargeCustomerFail")

    declined = api.post("/v1/billing.attach", json=UPGRADE)
    assert declined.status_code == 200, declined.text
    assert declined.json()["required_action"]["code"] == "payment_failed"
    # Nothing changed: Pro's trial goes on, with its usage.
    answer = api.post("/v1/customers.get", json={"customer_id": "c1"}).json()
    (pro,) = answer["subscriptions"]
    assert (pro["plan_id"], pro["trial_ends_at"]) == ("pro", trialing["trial_end"] * 1000)
    assert Decimal(str(messages(api)["usage"])) == 150
    subscription = stripe_subscription(clean_stack, trialing["stripe_customer"])
    assert (subscription.status, subscription.trial_end) == ("trialing", trialing["trial_end"])

    paying_with(clean_stack, trialing, "pm_card_visa")
    attached = api.post("/v1/billing.attach", json=UPGRADE)
    assert attached.status_code == 200, attached.text
    assert dollars(attached.json()["invoice"]["total"]) == Decimal("50.00")
    assert premium_held(api)["trial_ends_at"] is None
    assert invoices(api) == [
        (Decimal("0.00"), "paid"),
        (Decimal("50.00"), "paid"),
        (Decimal("50.00"), "void"),
    ]


PREMIUM_WITH_TRIAL = {**PREMIUM, "free_trial": {"duration_length": 14, "duration_type": "day"}}


def test_an_upgrade_during_a_trial_to_a_plan_with_its_own_trial_starts_that_trial_afresh(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    trialing = on_trial(api, clean_stack, PREMIUM_WITH_TRIAL)
    track(api, 150)
    stripe = stripe_client(clean_stack)
    # Mid-trial: 3 of Pro's 7 days gone.
    clock = stripe.v1.test_helpers.test_clocks.retrieve(trialing["clock"])
    now = advance(stripe, trialing["clock"], clock.frozen_time + 3 * DAY).frozen_time
    fresh_end_ms = (now + 14 * DAY) * 1000

    preview = api.post("/v1/billing.preview_attach", json=UPGRADE)
    assert preview.status_code == 200, preview.text
    assert dollars(preview.json()["total"]) == Decimal("0.00")
    # Premium's $50 when its own trial ends, none of Pro's trial usage.
    cycle = preview.json()["next_cycle"]
    assert (cycle["starts_at"], dollars(cycle["total"])) == (fresh_end_ms, Decimal("50.00"))
    attached = api.post("/v1/billing.attach", json=UPGRADE)
    assert attached.status_code == 200, attached.text

    subscription = stripe_subscription(clean_stack, trialing["stripe_customer"])
    assert (subscription.status, subscription.trial_end) == ("trialing", now + 14 * DAY)
    premium = premium_held(api)
    assert premium["trial_ends_at"] == fresh_end_ms
    balance = messages(api)
    assert (Decimal(str(balance["granted"])), Decimal(str(balance["usage"]))) == (1000, 0)
    assert balance["next_reset_at"] == fresh_end_ms
    assert invoices(api) == [(Decimal("0.00"), "paid"), (Decimal("0.00"), "paid")]


def test_an_upgrade_from_a_paid_period_to_a_plan_with_a_trial_starts_no_trial_stripe_does_not(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    # Pro paid and past any trial; Premium has a 14-day trial of its own. Stripe's period
    # goes on and the prorated difference is charged now: no trial is shown or granted
    # (Autumn differs: README, "Deliberate differences").
    subscribed = subscribe(api, clean_stack, pro_with_overage(0.1, 1), PREMIUM_WITH_TRIAL)

    preview = api.post("/v1/billing.preview_attach", json=UPGRADE)
    assert preview.status_code == 200, preview.text
    assert dollars(preview.json()["total"]) == Decimal("30.00")
    attached = api.post("/v1/billing.attach", json=UPGRADE)
    assert attached.status_code == 200, attached.text
    assert dollars(attached.json()["invoice"]["total"]) == Decimal("30.00")

    subscription = stripe_subscription(clean_stack, subscribed["stripe_customer"])
    assert (subscription.status, subscription.trial_end) == ("active", None)
    premium = premium_held(api)
    assert (premium["status"], premium["trial_ends_at"]) == ("active", None)
    # Premium's balances reset with Stripe's monthly period (the grant's own month, from
    # the grant, a few test seconds off its end), not at a 14-day trial end.
    drift_ms = abs(messages(api)["next_reset_at"] - subscribed["period_end"] * 1000)
    assert drift_ms < 3600 * 1000
    assert invoices(api) == [(Decimal("20.00"), "paid"), (Decimal("30.00"), "paid")]
