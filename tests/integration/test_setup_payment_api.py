"""billing.setup_payment over HTTP against the local stack (the Stripe emulator behind it,
its events delivered to the stack's webhook): the customer saves a card on Stripe's
Checkout page in setup mode, and with `plan_id` gets the plan once the card is saved."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from local.stack import LocalStack
from tests.conftest import stripe_client, table_items
from tests.integration.test_attach_api import (  # noqa: F401 (fixtures)
    attach,
    catalog,
    customer,
    pay_on_checkout_page,
    webhooks,
)

SUCCESS_URL = "https://app.example.com/card-saved"


def setup_payment(api: httpx.Client, **body: Any) -> httpx.Response:
    return api.post(
        "/v1/billing.setup_payment",
        json={"customer_id": "c1", "success_url": SUCCESS_URL, **body},
    )


def test_a_customer_without_stripe_gets_one_and_a_setup_page(
    catalog: httpx.Client,  # noqa: F811
    clean_stack: LocalStack,
) -> None:
    assert customer(catalog)["stripe_id"] is None

    response = setup_payment(catalog)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["customer_id"] == "c1"
    linked = customer(catalog)["stripe_id"]
    assert linked is not None
    (session,) = stripe_client(clean_stack).v1.checkout.sessions.list().data
    assert (session.url, session.mode, session.customer) == (body["url"], "setup", linked)
    assert session.success_url == SUCCESS_URL
    assert httpx.get(body["url"]).status_code == 200


def test_the_card_saved_on_the_page_becomes_the_customers_default(
    catalog: httpx.Client,  # noqa: F811
    webhooks: LocalStack,  # noqa: F811
) -> None:
    url = setup_payment(catalog).json()["url"]

    saved = pay_on_checkout_page(url, "4242 4242 4242 4242")

    assert saved.status_code == 303
    assert saved.headers["location"].startswith(SUCCESS_URL)
    stripe = stripe_client(webhooks)
    linked = stripe.v1.customers.retrieve(customer(catalog)["stripe_id"])
    (card,) = stripe.v1.payment_methods.list({"customer": linked.id, "type": "card"}).data
    assert linked.invoice_settings.default_payment_method == card.id
    assert stripe.v1.subscriptions.list({"customer": linked.id}).data == []
    assert customer(catalog)["subscriptions"] == []


def test_with_a_plan_the_plan_is_attached_once_the_card_is_saved(
    catalog: httpx.Client,  # noqa: F811
    webhooks: LocalStack,  # noqa: F811
) -> None:
    url = setup_payment(catalog, plan_id="pro").json()["url"]
    assert customer(catalog)["subscriptions"] == [], "nothing before the card is saved"

    pay_on_checkout_page(url, "4242 4242 4242 4242")

    held = customer(catalog)
    assert [(s["plan_id"], s["status"]) for s in held["subscriptions"]] == [("pro", "active")]
    assert held["balances"]["messages"]["granted"] == 1000
    stripe = stripe_client(webhooks)
    invoices = stripe.v1.invoices.list({"customer": held["stripe_id"]}).data
    assert [(i.status, i.total) for i in invoices] == [("paid", 2000)], "charged once"
    (subscription,) = stripe.v1.subscriptions.list({"customer": held["stripe_id"]}).data
    assert subscription.status == "active"


def test_the_completed_setup_delivered_again_attaches_once(
    catalog: httpx.Client,  # noqa: F811
    webhooks: LocalStack,  # noqa: F811
) -> None:
    url = setup_payment(catalog, plan_id="top_up").json()["url"]
    pay_on_checkout_page(url, "4242 4242 4242 4242")
    assert webhooks.emulator is not None
    (completed,) = webhooks.emulator.events("checkout.session.completed")

    redelivered = httpx.post(f"{webhooks.stripe_url}/_emulator/events/{completed['id']}/redeliver")

    assert redelivered.status_code == 200
    held = customer(catalog)
    assert [p["plan_id"] for p in held["purchases"]] == ["top_up"]
    assert held["balances"]["messages"]["granted"] == 500
    invoices = stripe_client(webhooks).v1.invoices.list({"customer": held["stripe_id"]}).data
    assert [(i.status, i.total) for i in invoices] == [("paid", 500)]


def test_a_declined_card_saves_nothing_and_attaches_nothing(
    catalog: httpx.Client,  # noqa: F811
    webhooks: LocalStack,  # noqa: F811
) -> None:
    url = setup_payment(catalog, plan_id="pro").json()["url"]

    declined = pay_on_checkout_page(url, "4000 0000 0000 0002")

    assert declined.status_code == 402
    held = customer(catalog)
    assert held["subscriptions"] == []
    linked = stripe_client(webhooks).v1.customers.retrieve(held["stripe_id"])
    assert linked.invoice_settings.default_payment_method is None


def test_a_retried_setup_makes_one_session(
    catalog: httpx.Client,  # noqa: F811
    clean_stack: LocalStack,
) -> None:
    keyed = [
        catalog.post(
            "/v1/billing.setup_payment",
            json={"customer_id": "c1", "success_url": SUCCESS_URL, "plan_id": "pro"},
            headers={"Idempotency-Key": "setup-1"},
        )
        for _ in range(3)
    ]
    unkeyed = [setup_payment(catalog, plan_id="pro") for _ in range(3)]

    assert {r.status_code for r in [*keyed, *unkeyed]} == {200}
    assert len({r.json()["url"] for r in [*keyed, *unkeyed]}) == 1
    stripe = stripe_client(clean_stack)
    assert len(stripe.v1.checkout.sessions.list().data) == 1
    assert len(stripe.v1.customers.list().data) == 1


def test_once_a_card_is_saved_a_new_setup_opens_a_new_session(
    catalog: httpx.Client,  # noqa: F811
    webhooks: LocalStack,  # noqa: F811
) -> None:
    first = setup_payment(catalog).json()["url"]
    pay_on_checkout_page(first, "4242 4242 4242 4242")

    second = setup_payment(catalog).json()["url"]

    assert second != first
    assert httpx.get(second).status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"customer_id": "nobody"}, 404, "customer_not_found"),
        ({"plan_id": "ghost"}, 404, "product_not_found"),
        ({"success_url": "not a url"}, 400, "invalid_inputs"),
        (
            {"feature_quantities": [{"feature_id": "messages", "quantity": 3}]},
            400,
            "invalid_inputs",
        ),
        (
            {"plan_id": "pro", "feature_quantities": [{"feature_id": "messages", "quantity": 3}]},
            400,
            "invalid_inputs",
        ),
        ({"entity_id": "e1"}, 400, "invalid_inputs"),
        ({"plan_id": 7}, 400, "invalid_inputs"),
    ],
)
def test_bad_setups_are_refused_and_change_nothing(
    catalog: httpx.Client,  # noqa: F811
    clean_stack: LocalStack,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    before = table_items(clean_stack)

    response = setup_payment(catalog, **body)

    assert response.status_code == status, response.text
    assert {"code", "message"} <= response.json().keys()
    assert response.json()["code"] == code
    assert table_items(clean_stack) == before
    assert stripe_client(clean_stack).v1.customers.list().data == []


def test_a_plan_already_held_is_refused_before_any_card_is_asked_for(
    catalog: httpx.Client,  # noqa: F811
    clean_stack: LocalStack,
) -> None:
    attach(catalog, plan_id="free")

    response = setup_payment(catalog, plan_id="free")

    assert response.status_code == 409
    assert response.json()["code"] == "plan_already_attached"
    assert stripe_client(clean_stack).v1.checkout.sessions.list().data == []


def test_a_card_saved_after_the_customer_was_deleted_attaches_nothing_and_is_not_retried(
    catalog: httpx.Client,  # noqa: F811
    webhooks: LocalStack,  # noqa: F811
) -> None:
    url = setup_payment(catalog, plan_id="pro").json()["url"]
    stripe_customer = customer(catalog)["stripe_id"]
    assert catalog.post("/v1/customers.delete", json={"customer_id": "c1"}).status_code == 200

    pay_on_checkout_page(url, "4242 4242 4242 4242")

    assert webhooks.emulator is not None
    (completed,) = webhooks.emulator.events("checkout.session.completed")
    assert completed["pending_webhooks"] == 0, "answered 2xx: no retry can make it right"
    stripe = stripe_client(webhooks)
    assert stripe.v1.subscriptions.list({"customer": stripe_customer}).data == []
    assert stripe.v1.invoices.list({"customer": stripe_customer}).data == []


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"[1, 2]", b'{"customer_id": NaN}', b"\xff\xfe", b'{"customer_id": 1e999}'],
)
def test_an_unreadable_body_is_a_400_and_changes_nothing(
    catalog: httpx.Client,  # noqa: F811
    clean_stack: LocalStack,
    raw: bytes,
) -> None:
    before = table_items(clean_stack)

    response = catalog.post(
        "/v1/billing.setup_payment", content=raw, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_inputs"
    assert table_items(clean_stack) == before
