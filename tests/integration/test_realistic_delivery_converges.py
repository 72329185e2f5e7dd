"""One billing story (buy a plan with the card on file, use past the allowance, cancel at
the period end, take it back, renew with overage, then a declined renewal with overage)
played once with ordered webhook delivery and again with realistic delivery under two
seeds: what the customer holds, what it owes and what Stripe bills are the same each time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from local.stack import LocalStack
from local.stripe_emulator.realistic import ORDERED, REALISTIC
from tests.conftest import SECRET_KEY, cleaned, settling_hooks, stripe_client
from tests.lifecycle import paid_pro_customer
from tests.stripe_clocks import advance as advance_clock

pytestmark = pytest.mark.slow

DAY = 86_400


@pytest.fixture
def restored(stack: LocalStack) -> Iterator[LocalStack]:
    yield stack
    cleaned(stack, ORDERED, 0)


def story(stack: LocalStack) -> dict[str, Any]:
    """Plays the story; what the billing layer and Stripe hold at the end (no ids, no
    times: only what must not depend on the order webhooks arrive in)."""
    with httpx.Client(
        base_url=stack.api_url,
        headers={"Authorization": f"Bearer {SECRET_KEY}"},
        timeout=120,
        event_hooks=settling_hooks(stack),
    ) as api:
        bought = paid_pro_customer(api, stack, "pm_card_visa")
        stripe = stripe_client(stack)
        track = {"customer_id": "c1", "feature_id": "messages", "overage_behavior": "overflow"}
        assert api.post("/v1/balances.track", json={**track, "value": 130}).status_code == 200
        update = {"customer_id": "c1", "plan_id": "pro"}
        cancel = {**update, "cancel_action": "cancel_end_of_cycle"}
        assert api.post("/v1/billing.update", json=cancel).status_code == 200
        uncancel = {**update, "cancel_action": "uncancel"}
        assert api.post("/v1/billing.update", json=uncancel).status_code == 200
        clock = bought["clock"]
        renewal_day = bought["period_end"] + DAY
        advance_clock(stripe, clock, renewal_day)
        assert api.post("/v1/balances.track", json={**track, "value": 107}).status_code == 200
        failing = stripe.v1.payment_methods.attach(
            "pm_card_chargeCustomerFail", {"customer": bought["stripe_id"]}
        )
        stripe.v1.subscriptions.update(
            bought["subscription"], {"default_payment_method": failing.id}
        )
        next_end = stripe.v1.subscriptions.retrieve(bought["subscription"])["items"].data[0]
        advance_clock(stripe, clock, next_end.current_period_end + DAY)

        held = api.post("/v1/customers.get", json={"customer_id": "c1"}).json()
        invoices = api.post("/v1/invoices.list", json={"customer_id": "c1"}).json()["list"]
        subscriptions = stripe.v1.subscriptions.list(
            {"customer": bought["stripe_id"], "status": "all"}
        ).data
        stripe_invoices = stripe.v1.invoices.list({"customer": bought["stripe_id"]}).data
    balance = held["balances"]["messages"]
    return {
        "plans": sorted(
            (s["plan_id"], s["status"], s["past_due"], s["canceled_at"] is None)
            for s in held["subscriptions"]
        ),
        "balance": (balance["granted"], balance["usage"], balance["remaining"]),
        "invoices": [(i["plan_ids"], i["status"], i["total"]) for i in invoices],
        "stripe_subscriptions": sorted(
            (s.status, s.cancel_at_period_end, len(s["items"].data)) for s in subscriptions
        ),
        "stripe_invoices": [
            (i.billing_reason, i.status, i.amount_due, i.amount_paid) for i in stripe_invoices
        ],
    }


def test_a_billing_story_ends_in_the_same_state_whatever_order_its_webhooks_arrive_in(
    restored: LocalStack,
) -> None:
    ordered = story(cleaned(restored, ORDERED, 0))
    assert ordered["plans"] == [("pro", "active", True, True)], "the declined renewal shows"
    assert [i[2] for i in ordered["stripe_invoices"]] == [2000 + 7 * 50, 2000 + 30 * 50, 2000]

    for seed in (1, 2):
        realistic = story(cleaned(restored, REALISTIC, seed))
        assert realistic == ordered, f"seed {seed}"
        assert restored.emulator is not None
        assert restored.emulator.undeliverable() == [], f"seed {seed}"
        planned = restored.emulator.planned_deliveries()
        assert any(p["late"] for p in planned)
        assert any(p["duplicated"] for p in planned)
