"""The official Python SDK drives balances.check and balances.track against the local stack."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from autumn_sdk import Autumn
from autumn_sdk.errors import AutumnError

from local.stack import LocalStack
from tests.conftest import SDK_TIMEOUT_MS, SECRET_KEY


@pytest.fixture
def autumn(clean_stack: LocalStack, api: httpx.Client) -> Iterator[Autumn]:
    api.post(
        "/v1/features.create",
        json={
            "feature_id": "messages",
            "name": "Messages",
            "type": "metered",
            "event_names": ["chat"],
        },
    )
    api.post("/v1/features.create", json={"feature_id": "sso", "name": "SSO", "type": "boolean"})
    with Autumn(
        secret_key=SECRET_KEY, server_url=clean_stack.api_url, timeout_ms=SDK_TIMEOUT_MS
    ) as client:
        client.plans.create(
            plan_id="free",
            name="Free",
            auto_enable=True,
            items=[{"feature_id": "messages", "included": 10}, {"feature_id": "sso"}],
        )
        client.customers.get_or_create(customer_id="u")
        yield client


def test_check_and_track_through_the_sdk(autumn: Autumn) -> None:
    checked = autumn.check(customer_id="u", feature_id="messages", required_balance=4)
    tracked = autumn.track(customer_id="u", feature_id="messages", value=4)
    by_event = autumn.track(customer_id="u", event_name="chat", value=100)
    flag = autumn.check(customer_id="u", feature_id="sso")
    denied = autumn.check(customer_id="u", feature_id="messages", send_event=True)

    assert checked.allowed is True
    assert checked.balance is not None
    assert checked.balance.remaining == 10
    assert tracked.balance is not None
    assert tracked.balance.remaining == 6
    assert tracked.deductions is not None
    assert tracked.deductions[0].value == 4
    # One feature uses the event and no credit system prices it: its balance alone.
    assert by_event.balance is not None
    assert by_event.balance.remaining == 0, "capped at what was left"
    assert flag.allowed is True
    assert flag.flag is not None
    assert denied.allowed is False


def test_a_retried_track_with_one_key_counts_once(autumn: Autumn) -> None:
    headers = {"Idempotency-Key": "sdk-retry"}
    first = autumn.track(customer_id="u", feature_id="messages", value=3, http_headers=headers)
    again = autumn.track(customer_id="u", feature_id="messages", value=3, http_headers=headers)

    assert first.balance is not None
    assert again.balance is not None
    assert again.balance.remaining == first.balance.remaining == 7


def test_unknown_customers_and_features_are_404s(autumn: Autumn) -> None:
    with pytest.raises(AutumnError) as no_customer:
        autumn.check(customer_id="ghost", feature_id="messages")
    with pytest.raises(AutumnError) as no_feature:
        autumn.track(customer_id="u", feature_id="ghost")

    assert no_customer.value.status_code == 404
    assert '"customer_not_found"' in no_customer.value.body
    assert no_feature.value.status_code == 404
    assert '"feature_not_found"' in no_feature.value.body


def test_events_listed_and_aggregated_through_the_sdk(autumn: Autumn) -> None:
    autumn.track(customer_id="u", feature_id="messages", value=2, properties={"model": "small"})
    autumn.track(customer_id="u", feature_id="messages", value=3, properties={"model": "large"})

    listed = autumn.events.list(customer_id="u", feature_id="messages")
    summed = autumn.events.aggregate(
        customer_id="u", feature_id="messages", range="7d", group_by="properties.model"
    )

    assert [e.value for e in listed.list] == [3, 2]
    assert listed.list[0].deductions is not None
    assert summed.total["messages"].sum == 5
    assert sum(b.values["messages"] for b in summed.list) == 5


def test_balances_created_and_updated_through_the_sdk(autumn: Autumn) -> None:
    created = autumn.balances.create(customer_id="u", feature_id="messages", included_grant=25)
    updated = autumn.balances.update(customer_id="u", feature_id="messages", add_to_balance=5)
    checked = autumn.check(customer_id="u", feature_id="messages", required_balance=40)

    assert created.success is True
    assert updated.success is True
    assert checked.balance is not None
    assert checked.balance.remaining == 40, "10 from the plan, 25 by hand, 5 added"
    assert checked.allowed is True


def test_an_async_track_through_the_sdk_is_a_202_applied_by_the_worker(
    autumn: Autumn, clean_stack: LocalStack
) -> None:
    queued = autumn.track(customer_id="u", feature_id="messages", value=4, async_=True)
    by_event = autumn.track(customer_id="u", event_name="chat", value=2, async_=True)
    clean_stack.drain_queues()
    checked = autumn.check(customer_id="u", feature_id="messages")

    assert queued.balance is None
    assert queued.value == 4
    assert by_event.balance is None
    assert by_event.event_name == "chat"
    assert checked.balance is not None
    assert checked.balance.remaining == 4


def test_a_denied_check_with_preview_lists_the_plans_that_grant_the_feature(
    autumn: Autumn,
) -> None:
    autumn.plans.create(
        plan_id="pro",
        name="Pro",
        price={"amount": 20, "interval": "month"},
        items=[
            {"feature_id": "messages", "included": 1000, "reset": {"interval": "month"}},
            {"feature_id": "sso"},
        ],
        free_trial={"duration_length": 14, "duration_type": "day"},
    )
    autumn.plans.create(plan_id="unrelated", name="Unrelated", items=[])
    autumn.track(customer_id="u", feature_id="messages", value=10)

    used_up = autumn.check(customer_id="u", feature_id="messages", with_preview=True)
    allowed = autumn.check(customer_id="u", feature_id="sso", with_preview=True)

    assert used_up.allowed is False
    assert used_up.preview is not None
    assert used_up.preview.scenario == "usage_limit"
    assert used_up.preview.feature_name == "Messages"
    assert [p.id for p in used_up.preview.products] == ["pro"], "not the plan held, nor unrelated"
    (pro,) = used_up.preview.products
    assert pro.free_trial is not None
    assert pro.free_trial.length == 14
    assert {i.type for i in pro.items} == {"price", "feature"}
    assert allowed.preview is None, "a preview only when access is denied"


def test_decimal_uses_and_credits_paying_parse_with_the_sdk(
    autumn: Autumn, api: httpx.Client
) -> None:
    api.post(
        "/v1/features.create",
        json={
            "feature_id": "pool",
            "name": "Pool",
            "type": "credit_system",
            "credit_schema": [{"metered_feature_id": "messages", "credit_cost": 0.25}],
        },
    )
    api.post(
        "/v1/balances.create",
        json={"customer_id": "u", "feature_id": "pool", "included_grant": 100.5},
    )

    small = autumn.track(customer_id="u", feature_id="messages", value=0.1)
    past_the_grant = autumn.track(customer_id="u", feature_id="messages", value=12)
    checked = autumn.check(customer_id="u", feature_id="messages", send_event=True)

    assert small.balance is not None
    assert small.balance.remaining == 9.9
    # Both paid; the feature's own grant, first to pay, speaks for the use (as in Autumn).
    assert past_the_grant.balance is not None
    assert past_the_grant.balance.feature_id == "messages"
    assert past_the_grant.balances is not None
    assert past_the_grant.balances["messages"].remaining == 0
    assert past_the_grant.balances["pool"].remaining == 99.975  # 2.1 messages at 0.25
    assert checked.allowed is True
    assert checked.balances is not None
    assert checked.balances["pool"].remaining == 99.725
