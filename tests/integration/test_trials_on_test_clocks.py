"""A free trial for a customer whose Stripe test clock was moved ahead, over the local stack
and the Stripe emulator: the trial ends a trial's length after the clock's time (Stripe's
now for that customer), not after the wall clock's, which Stripe would refuse as past."""

from __future__ import annotations

import httpx

from local.stack import LocalStack
from tests.conftest import stripe_client
from tests.integration.test_attach_api import (  # noqa: F401 (fixtures)
    attach,
    catalog,
    customer,
    webhooks,
    with_card_on_file,
)
from tests.stripe_clocks import advance

DAY_S = 24 * 3600


def test_a_trial_on_a_customer_whose_test_clock_was_advanced_ends_after_the_clocks_time(
    catalog: httpx.Client,  # noqa: F811
    webhooks: LocalStack,  # noqa: F811
) -> None:
    stripe_customer = with_card_on_file(catalog, webhooks, "pm_card_visa")
    stripe = stripe_client(webhooks)
    clock_id = stripe.v1.customers.retrieve(stripe_customer).test_clock
    assert clock_id is not None, "the stack's Stripe customers live on test clocks"
    start = stripe.v1.test_helpers.test_clocks.retrieve(clock_id).frozen_time
    frozen = advance(stripe, clock_id, start + 40 * DAY_S).frozen_time

    trial = {"duration_length": 7, "duration_type": "day"}
    answer = attach(catalog, plan_id="pro", free_trial=trial)

    assert answer.status_code == 200, answer.text
    (subscription,) = stripe.v1.subscriptions.list({"customer": stripe_customer}).data
    assert subscription.status == "trialing"
    assert subscription.trial_end == frozen + 7 * DAY_S
    (pro,) = customer(catalog)["subscriptions"]
    assert pro["trial_ends_at"] == (frozen + 7 * DAY_S) * 1000
