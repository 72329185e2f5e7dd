"""Money scenarios where Autumn bills differently from a naive port: a prepaid-only plan
bought at quantity 0, and an upgrade charged to the customer's current default card."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest
from autumn_sdk.models import PreviewUpdateResponse

from local.stack import LocalStack
from tests.conftest import stripe_client
from tests.integration.test_attach_api import (
    attach,
    catalog,
    customer,
    pay_on_checkout_page,
    webhooks,
    with_card_on_file,
)
from tests.lifecycle import paid_pro_customer
from tests.stripe_clocks import advance

pytestmark = pytest.mark.slow

__all__ = ["catalog", "webhooks"]  # fixtures used here

SEATS = {"feature_id": "seats", "name": "Seats", "type": "metered", "consumable": False}
# Nothing but seats bought up front: 10 a month per package of 5, none included.
SEAT_PACKS = {
    "plan_id": "seat_packs",
    "name": "Seat packs",
    "group": "seats",
    "items": [
        {
            "feature_id": "seats",
            "included": 0,
            "price": {
                "amount": 10,
                "billing_units": 5,
                "billing_method": "prepaid",
                "interval": "month",
            },
        }
    ],
}


def test_a_prepaid_only_plan_bought_at_quantity_zero_is_held_with_a_balance_of_zero(
    catalog: httpx.Client, webhooks: LocalStack
) -> None:
    """Autumn's new-plan prepaid scenario: attached with quantity 0, the plan is active with
    nothing granted, and its first invoice is $0 (the prepaid item at quantity 0)."""
    assert catalog.post("/v1/features.create", json=SEATS).status_code == 200
    assert catalog.post("/v1/plans.create", json=SEAT_PACKS).status_code == 200
    stripe_customer = with_card_on_file(catalog, webhooks, "pm_card_visa")

    answer = attach(
        catalog, plan_id="seat_packs", feature_quantities=[{"feature_id": "seats", "quantity": 0}]
    )

    assert answer.status_code == 200, answer.text
    held = customer(catalog)
    assert [(s["plan_id"], s["status"]) for s in held["subscriptions"]] == [
        ("seat_packs", "active")
    ]
    seats = held["balances"]["seats"]
    assert (seats["granted"], seats["remaining"], seats["usage"]) == (0, 0, 0)
    stripe = stripe_client(webhooks)
    (subscription,) = stripe.v1.subscriptions.list({"customer": stripe_customer}).data
    assert [(i.price.unit_amount, i.quantity) for i in subscription["items"].data] == [(1000, 0)]
    invoices = stripe.v1.invoices.list({"customer": stripe_customer}).data
    assert [(i.status, Decimal(i.total) / 100) for i in invoices] == [("paid", Decimal(0))]

    # Buying seats later charges them on that subscription.
    bought = catalog.post(
        "/v1/billing.update",
        json={
            "customer_id": "c1",
            "plan_id": "seat_packs",
            "feature_quantities": [{"feature_id": "seats", "quantity": 10}],
        },
    )
    assert bought.status_code == 200, bought.text
    assert customer(catalog)["balances"]["seats"]["granted"] == 10


def test_a_prepaid_only_plan_at_quantity_zero_needs_no_card_and_no_checkout(
    catalog: httpx.Client, webhooks: LocalStack
) -> None:
    """Nothing is due: the subscription is made at once, $0, without a checkout page (which
    takes no item at quantity 0)."""
    assert catalog.post("/v1/features.create", json=SEATS).status_code == 200
    assert catalog.post("/v1/plans.create", json=SEAT_PACKS).status_code == 200

    answer = attach(
        catalog,
        plan_id="seat_packs",
        success_url="https://example.test/done",
        feature_quantities=[{"feature_id": "seats", "quantity": 0}],
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["payment_url"] is None
    held = customer(catalog)
    assert [s["plan_id"] for s in held["subscriptions"]] == ["seat_packs"]
    assert held["balances"]["seats"]["granted"] == 0


def paying_card(webhooks: LocalStack, invoice_id: str) -> str:
    """The card that paid the invoice (its payment intent's payment method)."""
    stripe = stripe_client(webhooks)
    invoice = stripe.v1.invoices.retrieve(invoice_id, {"expand": ["payments"]})
    assert invoice.status == "paid"
    (payment,) = invoice.payments.data
    intent = stripe.v1.payment_intents.retrieve(payment.payment.payment_intent)
    return str(intent.payment_method)


def new_default_card(webhooks: LocalStack, stripe_customer: str, test_card: str) -> str:
    """What the portal does when the customer adds a card: attached and made the default."""
    stripe = stripe_client(webhooks)
    card = stripe.v1.payment_methods.attach(test_card, {"customer": stripe_customer})
    stripe.v1.customers.update(
        stripe_customer, {"invoice_settings": {"default_payment_method": card.id}}
    )
    return str(card.id)


def test_an_upgrade_is_charged_to_the_customers_current_default_card(
    catalog: httpx.Client, webhooks: LocalStack
) -> None:
    """The subscription was bought with the default card of the day: it is not pinned to it,
    so the upgrade charges the card the customer made default since."""
    stripe_customer = with_card_on_file(catalog, webhooks, "pm_card_visa")
    assert attach(catalog, plan_id="pro").json()["invoice"]["status"] == "paid"
    stripe = stripe_client(webhooks)
    (subscription,) = stripe.v1.subscriptions.list({"customer": stripe_customer}).data
    assert subscription.default_payment_method is None
    newer = new_default_card(webhooks, stripe_customer, "pm_card_mastercard")

    upgraded = attach(catalog, plan_id="premium").json()

    assert upgraded["invoice"]["status"] == "paid"
    assert paying_card(webhooks, upgraded["invoice"]["stripe_id"]) == newer


def test_after_setup_payment_an_upgrade_of_a_plan_bought_on_the_checkout_page_charges_the_new_card(
    catalog: httpx.Client, webhooks: LocalStack
) -> None:
    """A checkout page leaves its card on the subscription; the card saved by setup_payment
    becomes the customer's default and the subscription's, as the portal does it."""
    paid = attach(catalog, plan_id="pro", success_url="https://example.test/done").json()
    pay_on_checkout_page(paid["payment_url"], "4242 4242 4242 4242")
    stripe = stripe_client(webhooks)
    stripe_customer = customer(catalog)["stripe_id"]
    (subscription,) = stripe.v1.subscriptions.list({"customer": stripe_customer}).data
    first_card = subscription.default_payment_method
    assert first_card is not None

    setup = catalog.post(
        "/v1/billing.setup_payment",
        json={"customer_id": "c1", "success_url": "https://example.test/saved"},
    )
    assert setup.status_code == 200, setup.text
    pay_on_checkout_page(setup.json()["url"], "5555 5555 5555 4444")
    newer = stripe.v1.customers.retrieve(stripe_customer).invoice_settings.default_payment_method
    assert newer not in (None, first_card)

    upgraded = attach(catalog, plan_id="premium").json()

    assert upgraded["invoice"]["status"] == "paid"
    assert paying_card(webhooks, upgraded["invoice"]["stripe_id"]) == newer


DAY = 86400


def invoices_of(api: httpx.Client) -> list[dict[str, Any]]:
    listed = api.post("/v1/invoices.list", json={"customer_id": "c1"})
    assert listed.status_code == 200, listed.text
    return sorted(listed.json()["list"], key=lambda i: i["created_at"])


def unused_credit(subscription: Any, at: int, cents: int) -> Decimal:
    """Stripe's credit for the unused share of the period, in dollars (half a cent away
    from zero)."""
    item = subscription["items"].data[0]
    start, end = item.current_period_start, item.current_period_end
    share = Decimal(cents) * (end - at) / (end - start)
    return -share.quantize(Decimal(1), rounding=ROUND_HALF_UP) / 100


@pytest.mark.parametrize(("proration_behavior", "credited"), [(None, True), ("none", False)])
def test_cancel_immediately_credits_the_unused_time_unless_told_not_to(
    api: httpx.Client, clean_stack: LocalStack, proration_behavior: str | None, credited: bool
) -> None:
    """Autumn's cancel-immediately billing scenario: ten days into a $20 month, the plan
    ends now and a final invoice credits the rest of the month to the customer's balance."""
    held = paid_pro_customer(api, clean_stack, "pm_card_visa")
    stripe = stripe_client(clean_stack)
    subscription = stripe.v1.subscriptions.retrieve(held["subscription"])
    at = subscription["items"].data[0].current_period_start + 10 * DAY
    advance(stripe, held["clock"], at)

    body: dict[str, Any] = {
        "customer_id": "c1",
        "plan_id": "pro",
        "cancel_action": "cancel_immediately",
    }
    if proration_behavior is not None:
        body["proration_behavior"] = proration_behavior
    preview = previewed(api, body)
    canceled = api.post("/v1/billing.update", json=body)

    assert canceled.status_code == 200, canceled.text
    assert api.post("/v1/customers.get", json={"customer_id": "c1"}).json()["subscriptions"] == []
    totals = [Decimal(str(i["total"])) for i in invoices_of(api)]
    balance = Decimal(stripe.v1.customers.retrieve(held["stripe_id"]).balance) / 100
    assert preview.intent == "cancel_immediately"
    assert [(p.plan_id, p.effective_at) for p in preview.outgoing] == [("pro", at * 1000)]
    assert preview.incoming == []
    if not credited:
        assert (totals, balance) == ([Decimal(20)], Decimal(0))
        assert (preview.total, preview.line_items) == (0, [])
        return
    credit = unused_credit(subscription, at, 2000)
    assert Decimal("-13.55") <= credit <= Decimal("-12.85")  # 18 to 21 days of the month
    assert totals == [Decimal(20), credit]
    assert balance == credit
    # The preview showed that credit, to the cent.
    assert Decimal(str(preview.total)) == credit
    (line,) = preview.line_items
    assert (line.plan_id, Decimal(str(line.total))) == ("pro", credit)


def previewed(api: httpx.Client, body: dict[str, Any]) -> PreviewUpdateResponse:
    """billing.preview_update's answer, as the SDK's model parses it."""
    answer = api.post("/v1/billing.preview_update", json=body)
    assert answer.status_code == 200, answer.text
    return PreviewUpdateResponse.model_validate(answer.json())


def test_previews_of_a_cancel_at_the_period_end_and_its_uncancel_invoice_nothing(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    held = paid_pro_customer(api, clean_stack, "pm_card_visa")
    pro = {"customer_id": "c1", "plan_id": "pro"}

    ending = previewed(api, {**pro, "cancel_action": "cancel_end_of_cycle"})
    assert (ending.intent, ending.total, ending.line_items) == ("cancel_end_of_cycle", 0, [])
    assert [(p.plan_id, p.effective_at) for p in ending.outgoing] == [
        ("pro", held["period_end"] * 1000)
    ]
    canceled = api.post("/v1/billing.update", json={**pro, "cancel_action": "cancel_end_of_cycle"})
    assert canceled.status_code == 200, canceled.text

    back = previewed(api, {**pro, "cancel_action": "uncancel"})
    assert (back.intent, back.total, back.outgoing) == ("uncancel", 0, [])
    assert [p.plan_id for p in back.incoming] == ["pro"]
    # Nothing changed: the plan is still canceling.
    (subscription,) = api.post("/v1/customers.get", json={"customer_id": "c1"}).json()[
        "subscriptions"
    ]
    assert subscription["canceled_at"] is not None


def test_a_quantity_preview_shows_the_prorated_charge_the_update_then_invoices(
    catalog: httpx.Client, webhooks: LocalStack
) -> None:
    """Seats bought mid-period: the preview's total is the invoice the update charges."""
    assert catalog.post("/v1/features.create", json=SEATS).status_code == 200
    assert catalog.post("/v1/plans.create", json=SEAT_PACKS).status_code == 200
    with_card_on_file(catalog, webhooks, "pm_card_visa")
    bought = attach(
        catalog, plan_id="seat_packs", feature_quantities=[{"feature_id": "seats", "quantity": 5}]
    )
    assert bought.status_code == 200, bought.text
    more = {
        "customer_id": "c1",
        "plan_id": "seat_packs",
        "feature_quantities": [{"feature_id": "seats", "quantity": 15}],
    }

    preview = previewed(catalog, more)
    updated = catalog.post("/v1/billing.update", json=more)

    assert updated.status_code == 200, updated.text
    assert preview.intent == "update_quantity"
    charged = Decimal(str(updated.json()["invoice"]["total"]))
    assert Decimal(str(preview.total)) == charged
    assert Decimal(0) < charged <= Decimal(20)  # two more packs of 10, for what is left
    assert [(q.feature_id, q.quantity) for q in preview.incoming[0].feature_quantities] == [
        ("seats", 15)
    ]
    assert customer(catalog)["balances"]["seats"]["granted"] == 15

    unchanged = previewed(catalog, more)
    assert (unchanged.intent, unchanged.total) == ("none", 0)
