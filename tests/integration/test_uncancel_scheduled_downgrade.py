"""Taking back a downgrade between paid plans scheduled at the period end, over the local
stack and the Stripe emulator: billing.update `uncancel` of the plan held, or attaching the
plan held again. The Stripe subscription's schedule is released, the scheduled plan and its
purchase are gone, and the plan held renews at the period end as it was."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from local.stack import LocalStack
from tests.conftest import stripe_client, table_items
from tests.emulator.receiver import WebhookReceiver
from tests.integration.test_app_webhooks import PRODUCTS_UPDATED, endpoint, verified, wait_for
from tests.integration.test_billing_update_api import (  # noqa: F401 (fixtures)
    attach,
    catalog,
    customer,
    update,
    with_card_on_file,
)
from tests.stripe_clocks import advance as advance_clock

DAY_S = 24 * 3600


class OnPremium:
    """c1 on premium (paid with its card, on a Stripe test clock), pro scheduled for the
    period end (unless `downgrade` is False)."""

    def __init__(self, api: httpx.Client, stack: LocalStack, downgrade: bool = True) -> None:
        self.stripe = stripe_client(stack)
        self.start = int(time.time())
        self.clock = self.stripe.v1.test_helpers.test_clocks.create({"frozen_time": self.start})
        self.stripe_customer = self.stripe.v1.customers.create({"test_clock": self.clock.id}).id
        linked = api.post(
            "/v1/customers.get_or_create",
            json={"customer_id": "c1", "stripe_id": self.stripe_customer},
        )
        assert linked.status_code == 200, linked.text
        with_card_on_file(api, stack, "pm_card_visa")
        assert attach(api, plan_id="premium").json()["invoice"]["status"] == "paid"
        if not downgrade:
            return
        assert attach(api, plan_id="pro").status_code == 200
        assert held(api) == [("premium", "active"), ("pro", "scheduled")]
        assert self.subscription().schedule is not None

    def subscription(self) -> Any:
        (found,) = self.stripe.v1.subscriptions.list({"customer": self.stripe_customer}).data
        return found

    def statuses(self) -> list[str]:
        """Of every subscription of the customer, ended ones too."""
        listed = self.stripe.v1.subscriptions.list(
            {"customer": self.stripe_customer, "status": "all"}
        )
        return [s.status for s in listed.data]

    def advance_past_the_period_end(self) -> None:
        advance_clock(self.stripe, self.clock.id, self.start + 32 * DAY_S)


def stripe_writes(stack: LocalStack, path: str = "/v1/") -> int:
    """How many writes the emulator has served under `path`."""
    assert stack.emulator is not None
    return stack.emulator.requests_made("POST", path)


@pytest.fixture
def downgrading(catalog: httpx.Client, clean_stack: LocalStack) -> OnPremium:  # noqa: F811
    return OnPremium(catalog, clean_stack)


def held(api: httpx.Client) -> list[tuple[str, str]]:
    return [(s["plan_id"], s["status"]) for s in customer(api)["subscriptions"]]


def scheduled_items(stack: LocalStack) -> list[dict[str, Any]]:
    """What keeps a scheduled switch in our table: the switch and its pending purchase."""
    return [
        item
        for item in table_items(stack)
        if item["PK"]["S"].startswith("SWITCH#")
        or (item.get("entity", {}).get("S") == "purchase" and item["status"]["S"] == "pending")
    ]


def test_uncancel_takes_back_a_scheduled_downgrade_and_the_plan_renews_as_it_was(
    catalog: httpx.Client,  # noqa: F811
    clean_stack: LocalStack,
    downgrading: OnPremium,
) -> None:
    response = update(catalog, plan_id="premium", cancel_action="uncancel")

    assert response.status_code == 200, response.text
    assert response.json() == {"customer_id": "c1", "payment_url": None}
    assert held(catalog) == [("premium", "active")]
    premium = customer(catalog)["subscriptions"][0]
    assert (premium["canceled_at"], premium["expires_at"]) == (None, None)
    assert downgrading.subscription().schedule is None
    (schedule,) = downgrading.stripe.v1.subscription_schedules.list(
        {"customer": downgrading.stripe_customer}
    ).data
    assert schedule.status == "released"
    assert scheduled_items(clean_stack) == []

    downgrading.advance_past_the_period_end()

    assert held(catalog) == [("premium", "active")]
    assert customer(catalog)["balances"]["messages"]["granted"] == 5000
    renewed = downgrading.subscription()
    assert [i.price.unit_amount for i in renewed["items"].data] == [5000]
    invoices = downgrading.stripe.v1.invoices.list({"customer": downgrading.stripe_customer})
    assert [(i.billing_reason, i.status, i.total) for i in invoices.data] == [
        ("subscription_cycle", "paid", 5000),
        ("subscription_create", "paid", 5000),
    ]


def test_cancelling_at_the_period_end_takes_the_scheduled_downgrade_with_the_plan(
    catalog: httpx.Client,  # noqa: F811
    clean_stack: LocalStack,
    downgrading: OnPremium,
) -> None:
    # When premium, with pro scheduled to replace it, is cancelled at the period end
    response = update(catalog, plan_id="premium", cancel_action="cancel_end_of_cycle")

    # Then premium ends then and nothing replaces it but the default plan, shown scheduled
    assert response.status_code == 200, response.text
    assert held(catalog) == [("premium", "active"), ("free", "scheduled")]
    assert customer(catalog)["subscriptions"][0]["canceled_at"] is not None
    subscription = downgrading.subscription()
    assert (subscription.schedule, subscription.cancel_at_period_end) == (None, True)
    # Pro's switch and purchase are gone; the default plan's are kept for the period end.
    kept = scheduled_items(clean_stack)
    bought = [json.loads(i["body"]["S"]) for i in kept if i["PK"]["S"].startswith("PURCHASE#")]
    assert len(kept) == 2
    assert [p["plan_id"] for p in bought] == ["free"]

    downgrading.advance_past_the_period_end()

    assert held(catalog) == [("free", "active")]
    assert not [i for i in scheduled_items(clean_stack) if i["PK"]["S"].startswith("PURCHASE#")]
    assert downgrading.statuses() == ["canceled"]


def test_cancelling_now_takes_the_scheduled_downgrade_with_the_plan(
    catalog: httpx.Client,  # noqa: F811
    clean_stack: LocalStack,
    downgrading: OnPremium,
) -> None:
    response = update(catalog, plan_id="premium", cancel_action="cancel_immediately")

    assert response.status_code == 200, response.text
    assert held(catalog) == [("free", "active")]
    assert downgrading.statuses() == ["canceled"]
    assert scheduled_items(clean_stack) == []


def test_the_plan_a_downgrade_replaces_shows_it_ends_when_the_new_plan_starts(
    catalog: httpx.Client,  # noqa: F811
    downgrading: OnPremium,
) -> None:
    # As Autumn shows a scheduled downgrade: the plan held is canceling (canceled_at set),
    # ending when the plan scheduled starts.
    premium, pro = customer(catalog)["subscriptions"]

    assert (premium["plan_id"], premium["status"]) == ("premium", "active")
    assert premium["canceled_at"] is not None
    assert premium["expires_at"] == premium["current_period_end"] == pro["started_at"]
    assert (pro["plan_id"], pro["status"], pro["canceled_at"]) == ("pro", "scheduled", None)

    downgrading.advance_past_the_period_end()

    (pro,) = customer(catalog)["subscriptions"]
    assert (pro["plan_id"], pro["canceled_at"], pro["expires_at"]) == ("pro", None, None)


def test_a_retried_uncancel_changes_nothing_and_asks_stripe_for_no_change(
    catalog: httpx.Client,  # noqa: F811
    clean_stack: LocalStack,
    downgrading: OnPremium,
) -> None:
    schedule_writes = stripe_writes(clean_stack, "/v1/subscription_schedules/")
    assert update(catalog, plan_id="premium", cancel_action="uncancel").status_code == 200
    after_first = customer(catalog)
    writes_to_stripe = stripe_writes(clean_stack)

    retried = update(catalog, plan_id="premium", cancel_action="uncancel")

    assert retried.status_code == 200, retried.text
    assert customer(catalog) == after_first
    assert stripe_writes(clean_stack) == writes_to_stripe
    released = stripe_writes(clean_stack, "/v1/subscription_schedules/") - schedule_writes
    assert released == 1, "the schedule is released once"


def test_an_uncancel_whose_release_fails_changes_nothing_and_its_retry_completes(
    catalog: httpx.Client,  # noqa: F811
    clean_stack: LocalStack,
    downgrading: OnPremium,
) -> None:
    emulator = clean_stack.emulator
    assert emulator is not None
    # Past the SDK's own retries (1 attempt + 2 for a 5xx): the caller sees it.
    emulator.fail_next("POST", "/v1/subscription_schedules/", status=500, times=3)

    failed = update(catalog, plan_id="premium", cancel_action="uncancel")

    assert failed.status_code == 502
    assert held(catalog) == [("premium", "active"), ("pro", "scheduled")]
    assert downgrading.subscription().schedule is not None

    assert update(catalog, plan_id="premium", cancel_action="uncancel").status_code == 200

    assert held(catalog) == [("premium", "active")]
    assert downgrading.subscription().schedule is None
    assert scheduled_items(clean_stack) == []


def test_attaching_the_plan_held_again_while_a_downgrade_is_scheduled_is_refused(
    catalog: httpx.Client,  # noqa: F811
    clean_stack: LocalStack,
    downgrading: OnPremium,
) -> None:
    # As Autumn's attach refuses it (409 plan_already_attached): renewal is an uncancel.
    writes_to_stripe = stripe_writes(clean_stack)

    response = attach(catalog, plan_id="premium")

    assert (response.status_code, response.json()["code"]) == (409, "plan_already_attached")
    assert "uncancel" in response.json()["message"]
    assert held(catalog) == [("premium", "active"), ("pro", "scheduled")]
    assert downgrading.subscription().schedule is not None
    assert stripe_writes(clean_stack) == writes_to_stripe


def test_attaching_a_plan_held_that_cancels_at_the_period_end_is_refused(
    catalog: httpx.Client,  # noqa: F811
    clean_stack: LocalStack,
) -> None:
    stripe_customer = with_card_on_file(catalog, clean_stack, "pm_card_visa")
    attach(catalog, plan_id="pro")
    assert update(catalog, plan_id="pro", cancel_action="cancel_end_of_cycle").status_code == 200

    response = attach(catalog, plan_id="pro")

    assert (response.status_code, response.json()["code"]) == (409, "plan_already_attached")
    pro = customer(catalog)["subscriptions"][0]
    assert (pro["plan_id"], pro["canceled_at"] is not None) == ("pro", True)
    stripe = stripe_client(clean_stack)
    (subscription,) = stripe.v1.subscriptions.list({"customer": stripe_customer}).data
    assert subscription.cancel_at_period_end is True


def test_uncancel_of_the_plan_scheduled_is_refused_and_changes_nothing(
    catalog: httpx.Client,  # noqa: F811
    clean_stack: LocalStack,
    downgrading: OnPremium,
) -> None:
    # Autumn: 400 invalid_request, a scheduled plan has no cancellation to take back.
    response = update(catalog, plan_id="pro", cancel_action="uncancel")

    assert (response.status_code, response.json()["code"]) == (400, "invalid_request")
    assert held(catalog) == [("premium", "active"), ("pro", "scheduled")]
    assert downgrading.subscription().schedule is not None


def test_uncancel_with_nothing_to_take_back_changes_nothing(
    catalog: httpx.Client,  # noqa: F811
    clean_stack: LocalStack,
) -> None:
    with_card_on_file(catalog, clean_stack, "pm_card_visa")
    attach(catalog, plan_id="premium")
    before = customer(catalog)
    writes_to_stripe = stripe_writes(clean_stack)

    response = update(catalog, plan_id="premium", cancel_action="uncancel")

    assert response.status_code == 200, response.text
    assert customer(catalog) == before
    assert stripe_writes(clean_stack) == writes_to_stripe


def test_the_application_is_told_the_plan_held_renews(
    catalog: httpx.Client,  # noqa: F811
    clean_stack: LocalStack,
    downgrading: OnPremium,
) -> None:
    receiver = WebhookReceiver()
    try:
        secret = endpoint(catalog, receiver.url, events=[PRODUCTS_UPDATED])["secret"]

        update(catalog, plan_id="premium", cancel_action="uncancel")
        update(catalog, plan_id="premium", cancel_action="uncancel")

        def renewals() -> list[dict[str, Any]]:
            told = [verified(secret, post)["data"] for post in receiver.received]
            return [d for d in told if d["scenario"] == "renew"]

        wait_for(lambda: len(renewals()) >= 1)
        time.sleep(0.5)  # a second one would have arrived by now
        (renewal,) = renewals()
        assert renewal["updated_product"]["id"] == "premium"
    finally:
        receiver.stop()


def test_a_scheduled_downgrade_keeps_its_purchase_until_long_after_the_switch(
    clean_stack: LocalStack, downgrading: OnPremium
) -> None:
    items = scheduled_items(clean_stack)
    (switch,) = [i for i in items if i["PK"]["S"].startswith("SWITCH#")]
    (purchase,) = [i for i in items if i.get("entity", {}).get("S") == "purchase"]

    # Purchase attempts are kept (their numbers never go back): the purchase outlives the
    # switch, which goes long after the period end.
    assert "ttl" not in purchase
    assert int(switch["ttl"]["N"]) > int(switch["at_ms"]["N"]) // 1000
