"""A purchase paid on Checkout in payment mode (a one-off plan, a top-up) leaves a paid
invoice, as Autumn's customers see one: Stripe makes it (`invoice_creation`) once the
payment succeeds, and invoices.list and the customer's invoices show it."""

from __future__ import annotations

import httpx

from local.stack import LocalStack
from tests.conftest import stripe_client
from tests.integration.test_attach_api import (
    SUCCESS_URL,
    attach,
    catalog,  # noqa: F401 - the fixture
    customer,
    pay_on_checkout_page,
)


def test_a_top_up_paid_on_checkout_leaves_one_paid_invoice_in_the_customers_invoices(
    catalog: httpx.Client,  # noqa: F811
    clean_stack: LocalStack,
) -> None:
    answer = attach(catalog, plan_id="top_up", success_url=SUCCESS_URL).json()

    assert pay_on_checkout_page(answer["payment_url"], "4242 4242 4242 4242").status_code == 303

    listed = catalog.post("/v1/invoices.list", json={"customer_id": "c1"}).json()["list"]
    assert [(i["status"], i["total"], i["plan_ids"]) for i in listed] == [("paid", 5, ["top_up"])]
    embedded = catalog.post(
        "/v1/customers.get", json={"customer_id": "c1", "expand": ["invoices"]}
    ).json()["invoices"]
    assert [i["stripe_id"] for i in embedded] == [listed[0]["stripe_id"]]
    stripe = stripe_client(clean_stack)
    held = customer(catalog)
    invoices = stripe.v1.invoices.list({"customer": held["stripe_id"]}).data
    assert [(i.status, i.total) for i in invoices] == [("paid", 500)]
    intents = stripe.v1.payment_intents.list({"customer": held["stripe_id"]}).data
    assert [i.amount for i in intents] == [500], "the invoice is the checkout's payment"
    assert [p["plan_id"] for p in held["purchases"]] == ["top_up"]
    assert held["balances"]["messages"]["granted"] == 500, "granted once"
