"""A customer's Stripe side going away: deleted by customers.delete (its subscriptions must
stop billing), deleted or changed in Stripe's dashboard (ours follows and keeps working)."""

from __future__ import annotations

import httpx
import pytest

from local.stack import LocalStack
from tests.conftest import stripe_client
from tests.lifecycle import PRO, paid_pro_customer

LIVE = ("active", "trialing", "past_due", "incomplete", "unpaid")


def live_subscriptions(stack: LocalStack, stripe_customer: str) -> list[str]:
    listed = stripe_client(stack).v1.subscriptions.list(
        {"customer": stripe_customer, "status": "all"}
    )
    return [s.id for s in listed.data if s.status in LIVE]


@pytest.mark.parametrize("delete_in_stripe", [False, True])
def test_deleting_a_paying_customer_stops_its_subscriptions_billing(
    api: httpx.Client, clean_stack: LocalStack, delete_in_stripe: bool
) -> None:
    paying = paid_pro_customer(api, clean_stack, "pm_card_visa")
    assert live_subscriptions(clean_stack, paying["stripe_id"]) == [paying["subscription"]]

    deleted = api.post(
        "/v1/customers.delete", json={"customer_id": "c1", "delete_in_stripe": delete_in_stripe}
    )

    assert deleted.status_code == 200, deleted.text
    assert live_subscriptions(clean_stack, paying["stripe_id"]) == []
    ended = stripe_client(clean_stack).v1.subscriptions.retrieve(paying["subscription"])
    assert ended.status == "canceled"
    assert api.post("/v1/customers.get", json={"customer_id": "c1"}).status_code == 404


def test_an_idless_customer_whose_email_stripe_changed_is_claimed_by_the_new_email(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    precreated = api.post(
        "/v1/customers.get_or_create",
        json={"customer_id": None, "email": "old@bigco.com", "create_in_stripe": True},
    ).json()
    # Changed in Stripe's dashboard: customer.updated reaches the webhook route.
    stripe_client(clean_stack).v1.customers.update(
        precreated["stripe_id"], {"email": "new@bigco.com"}
    )

    by_old = api.post(
        "/v1/customers.get_or_create", json={"customer_id": "org_1", "email": "old@bigco.com"}
    )
    by_new = api.post(
        "/v1/customers.get_or_create", json={"customer_id": "org_2", "email": "new@bigco.com"}
    )

    assert by_old.status_code == 200, by_old.text
    assert by_old.json()["stripe_id"] is None, "the old email no longer names the customer"
    assert by_new.status_code == 200, by_new.text
    assert by_new.json()["stripe_id"] == precreated["stripe_id"]
    assert by_new.json()["created_at"] == precreated["created_at"]


@pytest.fixture
def linked(api: httpx.Client) -> str:
    api.post("/v1/features.create", json={"feature_id": "messages", "name": "M", "type": "metered"})
    assert api.post("/v1/plans.create", json=PRO).status_code == 200
    created = api.post(
        "/v1/customers.get_or_create", json={"customer_id": "c1", "create_in_stripe": True}
    )
    return str(created.json()["stripe_id"])


def test_a_stripe_customer_deleted_in_stripe_is_unlinked_and_the_next_attach_makes_one(
    api: httpx.Client, clean_stack: LocalStack, linked: str
) -> None:
    stripe_client(clean_stack).v1.customers.delete(linked)  # customer.deleted is delivered

    unlinked = api.post("/v1/customers.get", json={"customer_id": "c1"}).json()
    attached = api.post(
        "/v1/billing.attach",
        json={"customer_id": "c1", "plan_id": "pro", "success_url": "https://app.example.com"},
    )

    assert unlinked["stripe_id"] is None
    assert attached.status_code == 200, attached.text
    assert attached.json()["payment_url"]
    relinked = api.post("/v1/customers.get", json={"customer_id": "c1"}).json()["stripe_id"]
    assert relinked not in (None, linked)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/billing.attach", {"plan_id": "pro", "success_url": "https://app.example.com"}),
        ("/v1/billing.open_customer_portal", {}),
        ("/v1/billing.setup_payment", {"success_url": "https://app.example.com/card"}),
    ],
)
def test_a_billing_call_meeting_no_such_customer_in_stripe_unlinks_and_retries_once(
    api: httpx.Client, clean_stack: LocalStack, linked: str, path: str, body: dict[str, object]
) -> None:
    with clean_stack.stripe_webhooks_paused():  # customer.deleted never arrives
        stripe_client(clean_stack).v1.customers.delete(linked)

    answer = api.post(path, json={"customer_id": "c1", **body})

    assert answer.status_code == 200, answer.text
    relinked = api.post("/v1/customers.get", json={"customer_id": "c1"}).json()["stripe_id"]
    assert relinked not in (None, linked)
