"""billing.attach with `invoice_mode`: Stripe sends the customer an invoice to pay within
`net_terms_days` (`collection_method: send_invoice`, `days_until_due`) instead of charging
a card; the plan is granted once the invoice is paid, or at once with
`enable_plan_immediately` (enterprise deals paid by invoice), as Autumn's invoice mode."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from local.stack import LocalStack
from tests.conftest import stripe_client
from tests.integration.test_attach_api import (
    attach,
    catalog,  # noqa: F401 - the fixture
    customer,
    with_card_on_file,
)

DAY = 86400
PAGE_TIMEOUT_S = 120


def _stripe_state(stack: LocalStack, stripe_customer: str) -> tuple[Any, Any, list[Any]]:
    stripe = stripe_client(stack)
    (subscription,) = stripe.v1.subscriptions.list({"customer": stripe_customer}).data
    invoices = stripe.v1.invoices.list({"customer": stripe_customer}).data
    intents = stripe.v1.payment_intents.list({"customer": stripe_customer}).data
    return subscription, invoices, [i for i in intents if i.status == "succeeded"]


def test_invoice_mode_sends_an_open_invoice_and_grants_the_plan_once_it_is_paid(
    catalog: httpx.Client,  # noqa: F811
    clean_stack: LocalStack,
) -> None:
    # A card on file is not charged: the customer pays the invoice.
    stripe_customer = with_card_on_file(catalog, clean_stack, "pm_card_visa")

    response = attach(catalog, plan_id="pro", invoice_mode={"enabled": True, "net_terms_days": 14})

    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["invoice"]["status"], answer["invoice"]["total"]) == ("open", 20)
    assert answer["payment_url"] == answer["invoice"]["hosted_invoice_url"]
    assert "required_action" not in answer
    held = customer(catalog)
    assert held["subscriptions"] == [], "nothing granted before the invoice is paid"
    subscription, invoices, charged = _stripe_state(clean_stack, stripe_customer)
    assert (subscription.collection_method, subscription.days_until_due) == ("send_invoice", 14)
    ((invoice),) = invoices
    assert (invoice.status, invoice.collection_method) == ("open", "send_invoice")
    assert invoice.due_date == invoice.created + 14 * DAY
    assert charged == [], "the card on file was not charged"

    paid = httpx.post(
        answer["payment_url"], data={"card_number": "4242424242424242"}, timeout=PAGE_TIMEOUT_S
    )

    assert paid.status_code == 200, paid.text
    held = customer(catalog)
    assert [s["plan_id"] for s in held["subscriptions"]] == ["pro"]
    assert held["balances"]["messages"]["granted"] == 1000
    listed = catalog.post("/v1/invoices.list", json={"customer_id": "c1"}).json()["list"]
    assert [(i["status"], i["total"]) for i in listed] == [("paid", 20)]


def test_enable_plan_immediately_grants_the_plan_while_the_invoice_is_open(
    catalog: httpx.Client,  # noqa: F811
    clean_stack: LocalStack,
) -> None:
    response = attach(
        catalog, plan_id="pro", invoice_mode={"enabled": True, "enable_plan_immediately": True}
    )

    assert response.status_code == 200, response.text
    assert response.json()["invoice"]["status"] == "open"
    held = customer(catalog)
    assert [s["plan_id"] for s in held["subscriptions"]] == ["pro"]
    assert held["balances"]["messages"]["granted"] == 1000
    _subscription, (invoice,), _ = _stripe_state(clean_stack, held["stripe_id"])
    assert invoice.due_date == invoice.created + 30 * DAY, "Stripe's usual 30 days"

    httpx.post(
        invoice.hosted_invoice_url,
        data={"card_number": "4242424242424242"},
        timeout=PAGE_TIMEOUT_S,
    )

    held = customer(catalog)
    assert [s["plan_id"] for s in held["subscriptions"]] == ["pro"], "granted once"
    assert held["balances"]["messages"]["granted"] == 1000


def test_a_one_off_top_up_in_invoice_mode_is_granted_when_its_invoice_is_paid(
    catalog: httpx.Client,  # noqa: F811
    clean_stack: LocalStack,
) -> None:
    answer = attach(catalog, plan_id="top_up", invoice_mode={"enabled": True}).json()

    assert answer["invoice"]["status"] == "open"
    assert customer(catalog)["purchases"] == []

    httpx.post(
        answer["payment_url"], data={"card_number": "4242424242424242"}, timeout=PAGE_TIMEOUT_S
    )

    held = customer(catalog)
    assert [p["plan_id"] for p in held["purchases"]] == ["top_up"]
    assert held["balances"]["messages"]["granted"] == 500


def test_invoice_mode_disabled_charges_as_usual(catalog: httpx.Client) -> None:  # noqa: F811
    answer = attach(
        catalog,
        plan_id="pro",
        invoice_mode={"enabled": False},
        success_url="https://app.example.com/done",
    ).json()

    assert "/invoices/" not in answer["payment_url"], "a Checkout page, as without it"


def test_the_preview_of_an_invoiced_attach_needs_no_checkout(
    catalog: httpx.Client,  # noqa: F811
) -> None:
    preview = catalog.post(
        "/v1/billing.preview_attach",
        json={"customer_id": "c1", "plan_id": "pro", "invoice_mode": {"enabled": True}},
    ).json()

    assert (preview["total"], preview["redirect_to_checkout"]) == (20, False)


@pytest.mark.parametrize(
    ("invoice_mode", "field"),
    [
        ({"enabled": True, "finalize": False}, "invoice_mode.finalize"),
        ({"enabled": True, "issue_method": "draft"}, "invoice_mode.issue_method"),
        ({"enabled": True, "issue_method": "finalize"}, "invoice_mode.issue_method"),
        ({"enabled": True, "invoice_template_id": "tpl_1"}, "invoice_mode.invoice_template_id"),
        ({"enabled": True, "payment_method_types": ["card"]}, "invoice_mode.payment_method_types"),
    ],
)
def test_what_invoice_mode_cannot_do_is_a_400_naming_the_field(
    catalog: httpx.Client,  # noqa: F811
    invoice_mode: dict[str, Any],
    field: str,
) -> None:
    response = attach(catalog, plan_id="pro", invoice_mode=invoice_mode)

    assert response.status_code == 400, response.text
    assert [d["field"] for d in response.json()["details"]] == [field]
    assert customer(catalog)["subscriptions"] == []


def test_invoice_mode_for_a_change_of_a_paid_plan_is_refused(
    catalog: httpx.Client,  # noqa: F811
    clean_stack: LocalStack,
) -> None:
    with_card_on_file(catalog, clean_stack, "pm_card_visa")
    assert attach(catalog, plan_id="pro").status_code == 200

    response = attach(catalog, plan_id="premium", invoice_mode={"enabled": True})

    assert response.status_code == 400, response.text
    assert [d["field"] for d in response.json()["details"]] == ["invoice_mode"]
    assert [s["plan_id"] for s in customer(catalog)["subscriptions"]] == ["pro"]
