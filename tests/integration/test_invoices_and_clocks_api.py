"""invoices.list, customers.get with expand invoices, customers.advance_test_clock, and the
smaller Stripe events (checkout.session.expired, customer.updated), over the local HTTP API."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from local.stack import LocalStack
from tests.conftest import stripe_client, table_items
from tests.lifecycle import paid_pro_customer

pytestmark = pytest.mark.slow


@pytest.fixture
def subscribed(api: httpx.Client, clean_stack: LocalStack) -> dict[str, Any]:
    return paid_pro_customer(api, clean_stack, "pm_card_visa")


def test_invoices_are_listed_newest_first_with_their_plans_and_status(
    api: httpx.Client, clean_stack: LocalStack, subscribed: dict[str, Any]
) -> None:
    first = api.post("/v1/invoices.list", json={"customer_id": "c1"}).json()
    (bought,) = first["list"]
    assert (bought["plan_ids"], bought["status"], bought["total"], bought["currency"]) == (
        ["pro"],
        "paid",
        20,
        "usd",
    )
    assert bought["stripe_id"].startswith("in_")
    assert bought["hosted_invoice_url"].startswith("http")

    moved = api.post(
        "/v1/customers.advance_test_clock",
        json={"customer_id": "c1", "frozen_time": (subscribed["period_end"] + 86_400) * 1000},
    )

    assert moved.status_code == 200, moved.text
    assert moved.json() == {
        "customer_id": "c1",
        "frozen_time": (subscribed["period_end"] + 86_400) * 1000,
        "status": "ready",
    }
    renewed = api.post("/v1/invoices.list", json={"customer_id": "c1"}).json()["list"]
    assert [i["status"] for i in renewed] == ["paid", "paid"]
    assert renewed[1]["stripe_id"] == bought["stripe_id"]
    assert renewed[0]["created_at"] == subscribed["period_end"] * 1000
    paged = api.post("/v1/invoices.list", json={"customer_id": "c1", "limit": 1}).json()
    rest = api.post(
        "/v1/invoices.list",
        json={"customer_id": "c1", "limit": 1, "start_cursor": paged["next_cursor"]},
    ).json()
    assert [i["stripe_id"] for i in paged["list"] + rest["list"]] == [
        i["stripe_id"] for i in renewed
    ]
    embedded = api.post(
        "/v1/customers.get", json={"customer_id": "c1", "expand": ["invoices"]}
    ).json()["invoices"]
    assert [i["stripe_id"] for i in embedded] == [i["stripe_id"] for i in renewed]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 400),
        ({"customer_id": "c1", "frozen_time": "soon"}, 400),
        ({"customer_id": "nobody", "frozen_time": 1}, 404),
        ({"customer_id": "c1", "frozen_time": 1_000}, 400),  # the past
    ],
)
def test_bad_clock_advances_are_refused_and_change_nothing(
    api: httpx.Client, clean_stack: LocalStack, body: dict[str, Any], status: int
) -> None:
    api.post("/v1/customers.get_or_create", json={"customer_id": "c1", "create_in_stripe": True})
    before = table_items(clean_stack)

    answer = api.post("/v1/customers.advance_test_clock", json=body)

    assert answer.status_code == status, answer.text
    assert answer.json()["code"] in ("invalid_inputs", "customer_not_found")
    assert sorted(map(str, table_items(clean_stack))) == sorted(map(str, before))


def test_invoices_list_needs_a_known_customer(api: httpx.Client) -> None:
    assert api.post("/v1/invoices.list", json={}).status_code == 400
    assert api.post("/v1/invoices.list", json={"customer_id": "nobody"}).status_code == 404


def test_an_expired_checkout_abandons_its_pending_purchase(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    api.post(
        "/v1/features.create",
        json={"feature_id": "messages", "name": "Messages", "type": "metered"},
    )
    api.post(
        "/v1/plans.create",
        json={"plan_id": "pro", "name": "Pro", "price": {"amount": 20, "interval": "month"}},
    )
    api.post("/v1/customers.get_or_create", json={"customer_id": "c1"})
    answer = api.post(
        "/v1/billing.attach",
        json={"customer_id": "c1", "plan_id": "pro", "success_url": "https://app.example.com"},
    ).json()
    assert answer["payment_url"]

    def statuses() -> list[str]:
        # Attempts are kept once closed, so that their numbers never come back.
        items = table_items(clean_stack)
        return [i["status"]["S"] for i in items if i["PK"]["S"].startswith("PURCHASE#")]

    assert statuses() == ["pending"]
    stripe = stripe_client(clean_stack)
    (session,) = stripe.v1.checkout.sessions.list({"limit": 1}).data
    stripe.v1.checkout.sessions.expire(session.id)

    assert statuses() == ["abandoned"]
    assert api.post("/v1/customers.get", json={"customer_id": "c1"}).json()["subscriptions"] == []


def test_a_name_and_email_changed_in_stripe_are_followed(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    linked = api.post(
        "/v1/customers.get_or_create",
        json={"customer_id": "c1", "name": "Ada", "create_in_stripe": True},
    ).json()

    stripe_client(clean_stack).v1.customers.update(
        linked["stripe_id"], {"name": "Ada Lovelace", "email": "ada@example.com"}
    )

    after = api.post("/v1/customers.get", json={"customer_id": "c1"}).json()
    assert (after["name"], after["email"]) == ("Ada Lovelace", "ada@example.com")


def test_a_deleted_customers_invoices_from_stripe_are_purged(
    api: httpx.Client, clean_stack: LocalStack, subscribed: dict[str, Any]
) -> None:
    from billing.store import customers, keys

    gone = customers.load("c1")
    assert gone is not None
    assert api.post("/v1/invoices.list", json={"customer_id": "c1"}).json()["list"]

    deleted = api.post("/v1/customers.delete", json={"customer_id": "c1"})
    clean_stack.drain_queues()
    api.post("/v1/customers.get_or_create", json={"customer_id": "c1"})
    listed = api.post("/v1/invoices.list", json={"customer_id": "c1"}).json()

    assert deleted.status_code == 200, deleted.text
    gone_pk = keys.invoices_pk(gone.internal_id)
    assert [i for i in table_items(clean_stack) if i["PK"]["S"] == gone_pk] == []
    assert listed == {"list": [], "next_cursor": None}
