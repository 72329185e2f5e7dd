"""A credit on the customer's Stripe balance (left by a cut in prepaid packs) is taken off the
next invoice Stripe finalizes; the previews say so: `total` is what the card is then charged,
`invoice_credits` the credit held and the part of it used (as Autumn's
billing/preview/preview-attach-invoice-credits)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from local.stack import LocalStack
from tests.conftest import stripe_client
from tests.integration.test_attach_api import (
    SUCCESS_URL,
    catalog,  # noqa: F401 - the fixture
    pay_on_checkout_page,
    webhooks,  # noqa: F401 - the fixture
)
from tests.integration.test_autumn_billing_scenarios import (
    attach,
    dollars,
    packs,
    plan,
    quantities,
    with_catalog,
)

pytestmark = pytest.mark.slow

EXTRAS = {"plan_id": "extras", "name": "Extras", "add_on": True, "items": []}


def latest_charge(stack: LocalStack, stripe_customer: str) -> tuple[int, int]:
    """The newest invoice's total and what Stripe asked the card for, in cents."""
    listed = stripe_client(stack).v1.invoices.list({"customer": stripe_customer, "limit": 1})
    return listed.data[0].total, listed.data[0].amount_due


def cut_to_five_packs(api: httpx.Client, stack: LocalStack, *extra: dict[str, Any]) -> str:
    """20 packs of 12 messages at $8, cut to 5 at once: $120 on the customer's Stripe
    balance; the customer's Stripe id."""
    stripe_customer = with_catalog(api, stack, plan("packs", 0, packs(12, 8)), *extra)
    attach(api, "packs", 20 * 12)
    fewer = {"customer_id": "c1", "plan_id": "packs", "feature_quantities": quantities(60)}
    assert api.post("/v1/billing.update", json=fewer).status_code == 200
    assert stripe_client(stack).v1.customers.retrieve(stripe_customer).balance == -12000
    return stripe_customer


def test_an_attach_preview_takes_the_stripe_credit_off_its_total(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    """A $50 add-on after $120 was credited: nothing is charged, $50 of the credit is used."""
    extras = EXTRAS | {"price": {"amount": 50, "interval": "month"}}
    stripe_customer = cut_to_five_packs(api, clean_stack, extras)
    body = {"customer_id": "c1", "plan_id": "extras"}

    preview = api.post("/v1/billing.preview_attach", json=body)
    attached = api.post("/v1/billing.attach", json=body)

    assert preview.status_code == 200, preview.text
    assert attached.status_code == 200, attached.text
    answer = preview.json()
    assert (dollars(answer["subtotal"]), dollars(answer["total"])) == (Decimal(50), Decimal(0))
    credits = answer["invoice_credits"]
    assert (dollars(credits["balance"]), dollars(credits["applied"])) == (Decimal(120), 50)
    assert credits["currency"] == answer["currency"]
    assert latest_charge(clean_stack, stripe_customer) == (5000, 0)
    assert stripe_client(clean_stack).v1.customers.retrieve(stripe_customer).balance == -7000


def test_an_update_preview_charges_only_what_the_credit_leaves(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    """Back up to 25 packs ($160 more) with $120 credited: $40 is charged."""
    stripe_customer = cut_to_five_packs(api, clean_stack)
    more = {"customer_id": "c1", "plan_id": "packs", "feature_quantities": quantities(300)}

    preview = api.post("/v1/billing.preview_update", json=more)
    updated = api.post("/v1/billing.update", json=more)

    assert preview.status_code == 200, preview.text
    assert updated.status_code == 200, updated.text
    answer = preview.json()
    assert (dollars(answer["subtotal"]), dollars(answer["total"])) == (Decimal(160), 40)
    credits = answer["invoice_credits"]
    assert (dollars(credits["balance"]), dollars(credits["applied"])) == (Decimal(120), 120)
    assert latest_charge(clean_stack, stripe_customer) == (16000, 4000)
    assert stripe_client(clean_stack).v1.customers.retrieve(stripe_customer).balance == 0


@pytest.mark.parametrize(
    ("plan_id", "charged_cents"),
    [
        # A one-off plan is paid on Checkout by a payment: Stripe takes no credit off it.
        ("top_up", 500),
        # A subscription's first invoice is finalized: $3 of credit comes off its $20.
        ("pro", 1700),
    ],
)
def test_a_checkout_preview_uses_the_credit_only_where_an_invoice_takes_it(
    catalog: httpx.Client,  # noqa: F811
    webhooks: LocalStack,  # noqa: F811
    plan_id: str,
    charged_cents: int,
) -> None:
    linked = catalog.post(
        "/v1/customers.get_or_create", json={"customer_id": "c1", "create_in_stripe": True}
    ).json()
    stripe = stripe_client(webhooks)
    stripe.v1.customers.update(linked["stripe_id"], {"balance": -300})
    body = {"customer_id": "c1", "plan_id": plan_id, "success_url": SUCCESS_URL}

    preview = catalog.post("/v1/billing.preview_attach", json=body)
    answer = catalog.post("/v1/billing.attach", json=body).json()
    assert pay_on_checkout_page(answer["payment_url"], "4242 4242 4242 4242").status_code == 303

    assert preview.status_code == 200, preview.text
    shown = preview.json()
    assert shown["redirect_to_checkout"] is True
    assert dollars(shown["invoice_credits"]["balance"]) == 3
    assert dollars(shown["total"]) * 100 == charged_cents
    intents = stripe.v1.payment_intents.list({"customer": linked["stripe_id"]}).data
    assert [i.amount for i in intents] == [charged_cents]
