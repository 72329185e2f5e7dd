"""A plan change on a subscription that is set to end at its period end (a downgrade
scheduled, a cancellation) replaces what was set: what the customer holds afterwards is what
Stripe bills, over the local stack and the Stripe emulator."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from local.stack import LocalStack
from tests.integration.test_billing_update_api import (  # noqa: F401 (fixtures)
    attach,
    catalog,
    customer,
    update,
)
from tests.integration.test_uncancel_scheduled_downgrade import (  # noqa: F401 (fixtures)
    OnPremium,
    downgrading,
    held,
    scheduled_items,
)

ULTRA = {
    "plan_id": "ultra",
    "name": "Ultra",
    "price": {"amount": 90, "interval": "month"},
    "items": [{"feature_id": "messages", "included": 9000}],
}
BASIC = {
    "plan_id": "basic",
    "name": "Basic",
    "price": {"amount": 10, "interval": "month"},
    "items": [{"feature_id": "messages", "included": 500}],
}


@pytest.fixture
def more_plans(catalog: httpx.Client) -> httpx.Client:  # noqa: F811
    for plan in (ULTRA, BASIC):
        assert catalog.post("/v1/plans.create", json=plan).status_code == 200
    return catalog


def pending_purchases(stack: LocalStack) -> list[dict[str, Any]]:
    return [i for i in scheduled_items(stack) if not i["PK"]["S"].startswith("SWITCH#")]


def billed(on: OnPremium) -> list[int]:
    """What the customer's live subscription bills now (unit amounts)."""
    return [i.price.unit_amount for i in on.subscription()["items"].data]


def after_the_period_end(on: OnPremium, api: httpx.Client) -> tuple[list[Any], list[int], Any]:
    on.advance_past_the_period_end()
    latest = on.stripe.v1.invoices.list({"customer": on.stripe_customer}).data[0]
    return held(api), billed(on), (latest.status, latest.total)


def test_an_upgrade_while_a_downgrade_is_scheduled_takes_the_downgrade_back(
    more_plans: httpx.Client,
    clean_stack: LocalStack,
    downgrading: OnPremium,  # noqa: F811
) -> None:
    response = attach(more_plans, plan_id="ultra")

    assert response.status_code == 200, response.text
    assert held(more_plans) == [("ultra", "active")]
    assert downgrading.subscription().schedule is None
    assert scheduled_items(clean_stack) == []
    assert after_the_period_end(downgrading, more_plans) == (
        [("ultra", "active")],
        [9000],
        ("paid", 9000),
    )


def test_an_upgrade_while_cancelling_at_the_period_end_takes_the_cancellation_back(
    more_plans: httpx.Client, clean_stack: LocalStack
) -> None:
    on = OnPremium(more_plans, clean_stack, downgrade=False)
    assert (
        update(more_plans, plan_id="premium", cancel_action="cancel_end_of_cycle").status_code
        == 200
    )

    response = attach(more_plans, plan_id="ultra")

    assert response.status_code == 200, response.text
    (ultra,) = customer(more_plans)["subscriptions"]
    assert (ultra["plan_id"], ultra["canceled_at"], ultra["expires_at"]) == ("ultra", None, None)
    assert on.subscription().cancel_at_period_end is False
    assert after_the_period_end(on, more_plans)[:2] == ([("ultra", "active")], [9000])


def test_a_downgrade_after_a_cancellation_at_the_period_end_replaces_the_cancellation(
    more_plans: httpx.Client, clean_stack: LocalStack
) -> None:
    on = OnPremium(more_plans, clean_stack, downgrade=False)
    assert (
        update(more_plans, plan_id="premium", cancel_action="cancel_end_of_cycle").status_code
        == 200
    )

    response = attach(more_plans, plan_id="pro")

    assert response.status_code == 200, response.text
    assert held(more_plans) == [("premium", "active"), ("pro", "scheduled")]
    premium, pro = customer(more_plans)["subscriptions"]
    # Canceling now because of the downgrade (as Autumn shows it), ending when pro starts.
    assert premium["canceled_at"] is not None
    assert premium["expires_at"] == pro["started_at"]
    subscription = on.subscription()
    assert (subscription.cancel_at_period_end, subscription.schedule is not None) == (False, True)
    assert after_the_period_end(on, more_plans) == ([("pro", "active")], [2000], ("paid", 2000))


def test_the_same_downgrade_after_renewing_is_scheduled_again_in_stripe(
    more_plans: httpx.Client,
    clean_stack: LocalStack,
    downgrading: OnPremium,  # noqa: F811
) -> None:
    assert update(more_plans, plan_id="premium", cancel_action="uncancel").status_code == 200

    response = attach(more_plans, plan_id="pro")

    assert response.status_code == 200, response.text
    assert held(more_plans) == [("premium", "active"), ("pro", "scheduled")]
    assert downgrading.subscription().schedule is not None
    assert after_the_period_end(downgrading, more_plans) == (
        [("pro", "active")],
        [2000],
        ("paid", 2000),
    )


def test_a_second_downgrade_replaces_the_first(
    more_plans: httpx.Client,
    clean_stack: LocalStack,
    downgrading: OnPremium,  # noqa: F811
) -> None:
    response = attach(more_plans, plan_id="basic")

    assert response.status_code == 200, response.text
    assert held(more_plans) == [("premium", "active"), ("basic", "scheduled")]
    switches = [i for i in scheduled_items(clean_stack) if i["PK"]["S"].startswith("SWITCH#")]
    assert len(switches) == 1
    assert len(scheduled_items(clean_stack)) == 2, "one switch and its purchase, no other"
    assert after_the_period_end(downgrading, more_plans) == (
        [("basic", "active")],
        [1000],
        ("paid", 1000),
    )
    assert pending_purchases(clean_stack) == [], "the first downgrade is not left pending"


def test_a_scheduled_paid_downgrade_switched_to_free_releases_the_schedule_first(
    more_plans: httpx.Client,
    clean_stack: LocalStack,
    downgrading: OnPremium,  # noqa: F811
) -> None:
    response = attach(more_plans, plan_id="free")

    assert response.status_code == 200, response.text
    assert held(more_plans) == [("premium", "active"), ("free", "scheduled")]
    subscription = downgrading.subscription()
    assert (subscription.schedule, subscription.cancel_at_period_end) == (None, True)
    downgrading.advance_past_the_period_end()
    assert held(more_plans) == [("free", "active")]
    assert downgrading.statuses() == ["canceled"]
    assert pending_purchases(clean_stack) == [], "the paid downgrade is not left pending"
