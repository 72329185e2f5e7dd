"""billing.open_customer_portal over HTTP against the local stack (the Stripe emulator behind
it): a link to Stripe's portal page for the customer, its Stripe customer made if missing."""

from __future__ import annotations

import httpx
import pytest

from local.stack import LocalStack
from tests.conftest import stripe_client

RETURN_URL = "https://app.example.com/account"


@pytest.fixture
def customer(api: httpx.Client) -> httpx.Client:
    assert api.post("/v1/customers.get_or_create", json={"customer_id": "c1"}).status_code == 200
    return api


def open_portal(api: httpx.Client, **body: object) -> httpx.Response:
    return api.post("/v1/billing.open_customer_portal", json={"customer_id": "c1", **body})


def stripe_id(api: httpx.Client) -> str | None:
    found: str | None = api.post("/v1/customers.get", json={"customer_id": "c1"}).json()[
        "stripe_id"
    ]
    return found


def test_a_customer_without_stripe_gets_one_and_a_portal_link(
    customer: httpx.Client, clean_stack: LocalStack
) -> None:
    # Given a customer never billed (no Stripe customer)
    assert stripe_id(customer) is None

    # When its portal is opened
    answer = open_portal(customer, return_url=RETURN_URL)

    # Then the answer is a link to the portal page of its new Stripe customer
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["customer_id"] == "c1"
    linked = stripe_id(customer)
    assert linked is not None
    page = httpx.get(body["url"])
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    (created,) = stripe_client(clean_stack).v1.customers.list().data
    assert created.id == linked


def test_opening_it_again_reuses_the_stripe_customer(customer: httpx.Client) -> None:
    first = open_portal(customer).json()
    linked = stripe_id(customer)

    second = open_portal(customer, return_url=RETURN_URL).json()

    assert stripe_id(customer) == linked
    assert second["url"] != first["url"]  # a fresh session each time


def test_the_portal_lists_the_customers_paid_subscription(
    customer: httpx.Client, clean_stack: LocalStack
) -> None:
    customer.post("/v1/features.create", json={"feature_id": "m", "name": "M", "type": "metered"})
    pro = {"plan_id": "pro", "name": "Pro", "price": {"amount": 20, "interval": "month"}}
    assert customer.post("/v1/plans.create", json=pro).status_code == 200
    open_portal(customer)  # links the Stripe customer
    stripe_client(clean_stack).v1.payment_methods.attach(
        "pm_card_visa", {"customer": stripe_id(customer)}
    )
    bought = customer.post("/v1/billing.attach", json={"customer_id": "c1", "plan_id": "pro"})
    assert bought.status_code == 200, bought.text
    assert bought.json()["payment_url"] is None

    page = httpx.get(open_portal(customer, return_url=RETURN_URL).json()["url"])

    assert page.status_code == 200
    (subscription,) = (
        stripe_client(clean_stack).v1.subscriptions.list({"customer": stripe_id(customer)}).data
    )
    assert subscription.id in page.text


def test_an_unknown_customer_is_a_404(api: httpx.Client, clean_stack: LocalStack) -> None:
    answer = open_portal(api)

    assert answer.status_code == 404
    assert answer.json()["code"] == "customer_not_found"
    assert stripe_client(clean_stack).v1.customers.list().data == []


@pytest.mark.parametrize(
    "body",
    [
        {"return_url": "javascript:alert(1)"},
        {"return_url": ""},
        {"return_url": 5},
        {"configuration_id": "not-a-configuration"},
        {"customer_id": None},
    ],
)
def test_bad_input_is_a_400_and_makes_no_stripe_customer(
    customer: httpx.Client, clean_stack: LocalStack, body: dict[str, object]
) -> None:
    answer = open_portal(customer, **body)

    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_inputs"
    assert answer.json()["details"]
    assert stripe_id(customer) is None


def test_a_configuration_stripe_does_not_have_is_a_400(customer: httpx.Client) -> None:
    answer = open_portal(customer, configuration_id="bpc_missing")

    assert answer.status_code == 400
    assert answer.json()["details"][0]["field"] == "configuration_id"
