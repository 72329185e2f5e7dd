"""The end of a purchase's lifecycle, over the local stack and the Stripe emulator: a granted
purchase is scheduled to end (`ending`) while its plan is set to end at the period end (a
cancellation, a downgrade scheduled), granted (active) again when that is taken back, and
ended once its subscription ends or a newer purchase of its slot replaces it."""

from __future__ import annotations

import json

import httpx
import pytest

from local.stack import LocalStack
from tests.conftest import table_items
from tests.integration.test_billing_update_api import (  # noqa: F401 (fixtures)
    attach,
    catalog,
    update,
)
from tests.integration.test_uncancel_scheduled_downgrade import OnPremium, held

pytestmark = pytest.mark.realistic_delivery


def purchases(stack: LocalStack) -> list[tuple[str, int, str]]:
    """Every purchase attempt kept: (plan, attempt, status), in that order."""
    found = []
    for item in table_items(stack):
        if item.get("entity", {}).get("S") != "purchase":
            continue
        body = json.loads(item["body"]["S"])
        found.append((body["plan_id"], body["attempt"], item["status"]["S"]))
    return sorted(found)


def test_a_purchase_is_scheduled_to_end_with_its_plan_and_active_again_when_that_is_taken_back(
    catalog: httpx.Client,  # noqa: F811
    clean_stack: LocalStack,
) -> None:
    on = OnPremium(catalog, clean_stack, downgrade=False)
    assert purchases(clean_stack) == [("premium", 1, "granted")]

    assert update(catalog, plan_id="premium", cancel_action="cancel_end_of_cycle").is_success
    assert purchases(clean_stack) == [("premium", 1, "ending")]
    assert update(catalog, plan_id="premium", cancel_action="uncancel").is_success
    assert purchases(clean_stack) == [("premium", 1, "granted")]

    assert attach(catalog, plan_id="pro").is_success  # a downgrade, at the period end
    assert purchases(clean_stack) == [("premium", 1, "ending"), ("pro", 1, "pending")]
    assert update(catalog, plan_id="premium", cancel_action="uncancel").is_success
    assert purchases(clean_stack) == [("premium", 1, "granted"), ("pro", 1, "abandoned")]

    assert attach(catalog, plan_id="pro").is_success
    on.advance_past_the_period_end()

    assert held(catalog) == [("pro", "active")]
    assert purchases(clean_stack) == [
        ("premium", 1, "ended"),
        ("pro", 1, "abandoned"),
        ("pro", 2, "granted"),
    ], "the plan replaced at the switch ended with it"


def test_a_purchase_ends_when_a_newer_one_replaces_it_or_its_subscription_ends(
    catalog: httpx.Client,  # noqa: F811
    clean_stack: LocalStack,
) -> None:
    OnPremium(catalog, clean_stack, downgrade=False)
    assert update(catalog, plan_id="premium", cancel_action="cancel_immediately").is_success
    assert purchases(clean_stack) == [("premium", 1, "ended")]

    assert attach(catalog, plan_id="pro").json()["invoice"]["status"] == "paid"
    assert attach(catalog, plan_id="premium").json()["invoice"]["status"] == "paid"

    assert held(catalog) == [("premium", "active")]
    assert purchases(clean_stack) == [
        ("premium", 1, "ended"),
        ("premium", 2, "granted"),
        ("pro", 1, "ended"),
    ], "the upgrade replaced pro: its purchase ended"
