"""autumn-js (through node) drives check, track, balances.* and events.* against the local
stack; its zod schemas must accept every answer."""

from __future__ import annotations

import pytest

from local.stack import LocalStack
from tests.compat.js_sdk import AutumnJs


@pytest.fixture
def customer(autumn_js: AutumnJs) -> AutumnJs:
    autumn_js.values(
        (
            "features.create",
            {
                "featureId": "messages",
                "name": "Messages",
                "type": "metered",
                "consumable": True,
                "eventNames": ["chat"],
            },
        ),
        ("features.create", {"featureId": "sso", "name": "SSO", "type": "boolean"}),
        (
            "plans.create",
            {
                "planId": "free",
                "name": "Free",
                "autoEnable": True,
                "items": [
                    {"featureId": "messages", "included": 10, "reset": {"interval": "month"}},
                    {"featureId": "sso"},
                ],
            },
        ),
        ("customers.getOrCreate", {"customerId": "u"}),
    )
    return autumn_js


def test_check_and_track_through_autumn_js(customer: AutumnJs) -> None:
    checked, tracked, by_event, flag, denied, previewed = customer.values(
        ("check", {"customerId": "u", "featureId": "messages", "requiredBalance": 4}),
        ("track", {"customerId": "u", "featureId": "messages", "value": 4}),
        ("track", {"customerId": "u", "eventName": "chat", "value": 100}),
        ("check", {"customerId": "u", "featureId": "sso"}),
        ("check", {"customerId": "u", "featureId": "messages", "sendEvent": True}),
        ("check", {"customerId": "u", "featureId": "messages", "withPreview": True}),
    )

    assert checked["allowed"] is True
    assert checked["balance"]["remaining"] == 10
    assert tracked["balance"]["remaining"] == 6
    assert tracked["deductions"][0]["value"] == 4
    # One feature uses the event and no credit system prices it: its balance alone.
    assert by_event["balance"]["remaining"] == 0, "capped at what was left"
    assert flag["allowed"] is True
    assert flag["flag"]["featureId"] == "sso"
    assert denied["allowed"] is False
    assert previewed["allowed"] is False
    assert previewed["preview"]["scenario"] == "usage_limit"


def test_an_async_track_through_autumn_js_is_applied_by_the_worker(
    customer: AutumnJs, clean_stack: LocalStack
) -> None:
    # `async` is a Python keyword: the call's arguments are given as a dict.
    (queued_outcome,) = customer.calls(
        ("track", {"customerId": "u", "featureId": "messages", "value": 4, "async": True})
    )
    queued = queued_outcome["value"]
    clean_stack.drain_queues()
    checked = customer.call("check", customerId="u", featureId="messages")

    assert queued_outcome["ok"], queued_outcome
    assert queued["value"] == 4
    assert queued.get("balance") is None, "queued: no balance yet"
    assert checked["balance"]["remaining"] == 6


def test_unknown_customers_are_404s_autumn_js_reports(customer: AutumnJs) -> None:
    error = customer.error("check", customerId="ghost", featureId="messages")

    assert error["status"] == 404
    assert '"code"' in error["body"]


def test_balances_created_and_updated_through_autumn_js(customer: AutumnJs) -> None:
    created, updated, checked = customer.values(
        ("balances.create", {"customerId": "u", "featureId": "messages", "includedGrant": 25}),
        ("balances.update", {"customerId": "u", "featureId": "messages", "addToBalance": 5}),
        ("check", {"customerId": "u", "featureId": "messages", "requiredBalance": 40}),
    )

    assert created["success"] is True
    assert updated["success"] is True
    assert checked["balance"]["remaining"] == 40, "10 from the plan, 25 by hand, 5 added"
    assert checked["allowed"] is True


def test_events_listed_and_aggregated_through_autumn_js(customer: AutumnJs) -> None:
    _, _, listed, summed = customer.values(
        (
            "track",
            {
                "customerId": "u",
                "featureId": "messages",
                "value": 2,
                "properties": {"model": "small"},
            },
        ),
        (
            "track",
            {
                "customerId": "u",
                "featureId": "messages",
                "value": 3,
                "properties": {"model": "large"},
            },
        ),
        ("events.list", {"customerId": "u", "featureId": "messages"}),
        (
            "events.aggregate",
            {
                "customerId": "u",
                "featureId": "messages",
                "range": "7d",
                "groupBy": "properties.model",
            },
        ),
    )

    assert [e["value"] for e in listed["list"]] == [3, 2]
    assert listed["list"][0]["properties"] == {"model": "large"}
    assert summed["total"]["messages"]["sum"] == 5
    assert sum(b["values"]["messages"] for b in summed["list"]) == 5
