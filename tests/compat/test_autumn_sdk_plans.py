"""The official Python SDK drives plans.* against the local stack; its models must accept
every answer."""

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
    # features.* is unusable in autumn-sdk 1.2.0 (see test_autumn_sdk_features): HTTP here.
    for body in (
        {"feature_id": "messages", "name": "Messages", "type": "metered"},
        {"feature_id": "seats", "name": "Seats", "type": "metered", "consumable": False},
        {"feature_id": "sso", "name": "SSO", "type": "boolean"},
    ):
        api.post("/v1/features.create", json=body)
    with Autumn(
        secret_key=SECRET_KEY, server_url=clean_stack.api_url, timeout_ms=SDK_TIMEOUT_MS
    ) as client:
        yield client


def test_plans_round_trip_through_the_sdk(autumn: Autumn, clean_stack: LocalStack) -> None:
    free = autumn.plans.create(
        plan_id="free",
        name="Free",
        auto_enable=True,
        items=[{"feature_id": "messages", "included": 100}, {"feature_id": "sso"}],
    )
    pro = autumn.plans.create(
        plan_id="pro",
        name="Pro",
        group="main",
        price={"amount": 20, "interval": "month"},
        items=[
            {
                "feature_id": "messages",
                "included": 1000,
                "reset": {"interval": "month"},
                "price": {"amount": 0.01, "interval": "month", "billing_method": "usage_based"},
            },
            {
                "feature_id": "seats",
                "price": {
                    "amount": 10,
                    "interval": "month",
                    "billing_method": "prepaid",
                    "max_purchase": 50,
                },
            },
        ],
        free_trial={"duration_length": 7, "duration_type": "day", "card_required": True},
    )

    fetched = autumn.plans.get(plan_id="pro")
    version_one = autumn.plans.get(plan_id="pro", version=1)
    listed = autumn.plans.list()
    updated = autumn.plans.update(plan_id="free", name="Starter")
    deleted = autumn.plans.delete(plan_id="free")

    assert free.auto_enable is True
    assert pro.price is not None
    assert pro.price.amount == 20
    assert pro.free_trial is not None
    assert pro.free_trial.card_required is True
    assert pro.processors is not None
    assert pro.processors.stripe is not None
    assert fetched.items[0].price is not None
    assert fetched.items[0].price.billing_method == "usage_based"
    assert version_one.version == 1
    assert [p.id for p in listed.list] == ["free", "pro"]
    assert updated.name == "Starter"
    assert deleted.success is True
    assert clean_stack.emulator is not None
    assert clean_stack.emulator.count("price") == 3


def test_a_bad_plan_is_a_400_the_sdk_reports(autumn: Autumn) -> None:
    with pytest.raises(AutumnError) as refused:
        autumn.plans.create(plan_id="bad", name="Bad", items=[{"feature_id": "ghost"}])

    assert refused.value.status_code == 400
    assert "items.0.feature_id" in refused.value.body
