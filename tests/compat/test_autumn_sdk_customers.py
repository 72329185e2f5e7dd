"""The official Python SDK (autumn-sdk) drives customers.* against the local stack.

The SDK validates every answer against its own pydantic models, so a missing or mistyped
field fails these tests even when the HTTP status is 200.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from autumn_sdk import Autumn
from autumn_sdk.errors import AutumnError

from local.stack import LocalStack
from tests.conftest import SDK_TIMEOUT_MS, SECRET_KEY


@pytest.fixture
def autumn(clean_stack: LocalStack) -> Iterator[Autumn]:
    with Autumn(
        secret_key=SECRET_KEY, server_url=clean_stack.api_url, timeout_ms=SDK_TIMEOUT_MS
    ) as client:
        yield client


def test_get_or_create_returns_a_customer_the_sdk_accepts(autumn: Autumn) -> None:
    customer = autumn.customers.get_or_create(
        customer_id="user_123", name="Ada", email="ada@example.com", metadata={"plan": "x"}
    )

    assert customer.id == "user_123"
    assert customer.email == "ada@example.com"
    assert customer.env == "sandbox"
    assert customer.subscriptions == []


def test_get_or_create_in_stripe_and_again_gives_the_same_customer(autumn: Autumn) -> None:
    first = autumn.customers.get_or_create(customer_id="user_123", create_in_stripe=True)
    again = autumn.customers.get_or_create(customer_id="user_123")

    assert first.stripe_id is not None
    assert again.stripe_id == first.stripe_id
    assert again.created_at == first.created_at


def test_an_idless_customer_round_trips_through_the_sdk(autumn: Autumn) -> None:
    precreated = autumn.customers.get_or_create(customer_id=None, email="cfo@bigco.com")
    claimed = autumn.customers.get_or_create(customer_id="org_1", email="cfo@bigco.com")

    assert precreated.id is None
    assert claimed.id == "org_1"
    assert claimed.created_at == precreated.created_at


def test_get_with_expansions(autumn: Autumn) -> None:
    autumn.customers.get_or_create(customer_id="user_123")

    customer = autumn.customers.get(customer_id="user_123", expand=["invoices", "entities"])

    assert customer.id == "user_123"
    assert customer.invoices == []
    assert customer.entities == []


def test_list_pages_with_the_sdk(autumn: Autumn) -> None:
    for n in range(3):
        autumn.customers.get_or_create(customer_id=f"user_{n}")

    first = autumn.customers.list(limit=2)
    rest = autumn.customers.list(limit=2, start_cursor=first.next_cursor)

    assert [c.id for c in first.list] == ["user_2", "user_1"]
    assert [c.id for c in rest.list] == ["user_0"]
    assert rest.next_cursor is None


def test_update_and_rename_with_the_sdk(autumn: Autumn) -> None:
    autumn.customers.get_or_create(customer_id="user_123", name="Ada")

    updated = autumn.customers.update(
        customer_id="user_123", name="Ada King", new_customer_id="user_456"
    )

    assert updated.id == "user_456"
    assert updated.name == "Ada King"


def test_delete_with_the_sdk(autumn: Autumn) -> None:
    autumn.customers.get_or_create(customer_id="user_123", create_in_stripe=True)

    deleted = autumn.customers.delete(customer_id="user_123", delete_in_stripe=True)

    assert deleted.success is True
    with pytest.raises(AutumnError) as missing:
        autumn.customers.get(customer_id="user_123")
    assert missing.value.status_code == 404
    assert '"customer_not_found"' in missing.value.body


def test_a_wrong_key_is_a_401_the_sdk_reports(clean_stack: LocalStack) -> None:
    with (
        Autumn(
            secret_key="am_sk_wrong", server_url=clean_stack.api_url, timeout_ms=SDK_TIMEOUT_MS
        ) as client,
        pytest.raises(AutumnError) as refused,
    ):
        client.customers.get_or_create(customer_id="user_123")

    assert refused.value.status_code == 401


def test_a_customer_on_the_default_plan_is_accepted_by_the_sdk(
    autumn: Autumn, clean_stack: LocalStack
) -> None:
    with httpx.Client(
        base_url=clean_stack.api_url, headers={"Authorization": f"Bearer {SECRET_KEY}"}
    ) as api:
        api.post(
            "/v1/features.create",
            json={"feature_id": "messages", "name": "Messages", "type": "metered"},
        )
        api.post(
            "/v1/features.create", json={"feature_id": "sso", "name": "SSO", "type": "boolean"}
        )
    autumn.plans.create(
        plan_id="free",
        name="Free",
        auto_enable=True,
        items=[{"feature_id": "messages", "included": 50}, {"feature_id": "sso"}],
    )

    customer = autumn.customers.get_or_create(customer_id="user_1")
    listed = autumn.customers.list()

    assert customer.subscriptions[0].plan_id == "free"
    assert customer.balances["messages"].remaining == 50
    assert customer.balances["messages"].breakdown is not None
    assert customer.flags["sso"].feature_id == "sso"
    assert listed.list[0].balances["messages"].granted == 50


def test_the_sdk_speaks_api_version_2_5_and_is_answered(clean_stack: LocalStack) -> None:
    sent: set[str | None] = set()

    def record(request: httpx.Request) -> None:
        sent.add(request.headers.get("x-api-version"))

    with (
        httpx.Client(event_hooks={"request": [record]}) as http,
        Autumn(
            secret_key=SECRET_KEY,
            server_url=clean_stack.api_url,
            client=http,
            timeout_ms=SDK_TIMEOUT_MS,
        ) as autumn,
    ):
        customer = autumn.customers.get_or_create(customer_id="u")

    assert sent == {"2.5.0"}
    assert customer.id == "u"
