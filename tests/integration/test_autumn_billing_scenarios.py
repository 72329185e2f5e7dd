"""Autumn's billing scenarios for prepaid quantities and plan switches, told as behaviour over
the local stack and the Stripe emulator (ported from useautumn/autumn
server/tests/integration/billing/: update-subscription/update-quantity/decrease-quantity and
quantity-while-cancelling, attach/immediate-switch/paid-features/immediate-switch-prepaid and
immediate-switch-prepaid-no-options-basic, attach/scheduled-switch/prepaid/
scheduled-switch-prepaid, attach/immediate-switch/immediate-switch-billing-interval,
update-subscription/cancel/immediately/cancel-immediately-addon).

Every change is made at the start of the period, so each proration is the whole difference
to the cent, as in Autumn's own expectations."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from local.stack import LocalStack
from tests.conftest import stripe_client

pytestmark = pytest.mark.slow

MESSAGES = {"feature_id": "messages", "name": "Messages", "type": "metered"}
YEAR_S = 365 * 24 * 3600


def packs(billing_units: int, amount: int) -> dict[str, Any]:
    """Messages bought up front, `amount` dollars a month per `billing_units`, none included."""
    return {
        "feature_id": "messages",
        "included": 0,
        "reset": {"interval": "month"},
        "price": {
            "amount": amount,
            "billing_units": billing_units,
            "billing_method": "prepaid",
            "interval": "month",
        },
    }


def plan(
    plan_id: str, amount: int, *items: dict[str, Any], interval: str = "month"
) -> dict[str, Any]:
    return {
        "plan_id": plan_id,
        "name": plan_id.title(),
        "group": "main",
        "price": {"amount": amount, "interval": interval},
        "items": list(items),
    }


def with_catalog(api: httpx.Client, stack: LocalStack, *plans: dict[str, Any]) -> str:
    """The plans in the catalog and customer c1 with a card on file; its Stripe id."""
    assert api.post("/v1/features.create", json=MESSAGES).status_code == 200
    for body in plans:
        created = api.post("/v1/plans.create", json=body)
        assert created.status_code == 200, created.text
    linked = api.post(
        "/v1/customers.get_or_create", json={"customer_id": "c1", "create_in_stripe": True}
    ).json()
    stripe = stripe_client(stack)
    card = stripe.v1.payment_methods.attach("pm_card_visa", {"customer": linked["stripe_id"]})
    stripe.v1.customers.update(
        linked["stripe_id"], {"invoice_settings": {"default_payment_method": card.id}}
    )
    return str(linked["stripe_id"])


def quantities(messages: int) -> list[dict[str, Any]]:
    return [{"feature_id": "messages", "quantity": messages}]


def attach(api: httpx.Client, plan_id: str, messages: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"customer_id": "c1", "plan_id": plan_id}
    if messages is not None:
        body["feature_quantities"] = quantities(messages)
    answer = api.post("/v1/billing.attach", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json().get("required_action") is None
    result: dict[str, Any] = answer.json()
    return result


def preview_attach(api: httpx.Client, plan_id: str) -> dict[str, Any]:
    answer = api.post("/v1/billing.preview_attach", json={"customer_id": "c1", "plan_id": plan_id})
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def dollars(value: Any) -> Decimal:
    return Decimal(str(value))


def held(api: httpx.Client) -> dict[str, Any]:
    answer: dict[str, Any] = api.post(
        "/v1/customers.get", json={"customer_id": "c1", "expand": ["invoices"]}
    ).json()
    return answer


def plans_held(customer: dict[str, Any]) -> list[tuple[str, str, bool]]:
    return sorted(
        (s["plan_id"], s["status"], s["canceled_at"] is not None) for s in customer["subscriptions"]
    )


def invoice_totals(customer: dict[str, Any]) -> list[Decimal]:
    """The customer's invoices' totals, sorted; each of them paid."""
    assert {i["status"] for i in customer["invoices"]} == {"paid"}
    return sorted(dollars(i["total"]) for i in customer["invoices"])


def test_fewer_prepaid_packs_are_credited_for_the_rest_of_the_period(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    """decrease-quantity: 20 packs of 12 messages at $8 cut to 5 is a credit of 15 packs."""
    stripe_customer = with_catalog(api, clean_stack, plan("packs", 0, packs(12, 8)))
    attach(api, "packs", 20 * 12)
    fewer = {"customer_id": "c1", "plan_id": "packs", "feature_quantities": quantities(5 * 12)}

    preview = api.post("/v1/billing.preview_update", json=fewer)
    updated = api.post("/v1/billing.update", json=fewer)

    assert preview.status_code == 200, preview.text
    assert dollars(preview.json()["total"]) == Decimal(-120)
    assert updated.status_code == 200, updated.text
    assert dollars(updated.json()["invoice"]["total"]) == Decimal(-120)
    customer = held(api)
    balance = customer["balances"]["messages"]
    assert (balance["granted"], balance["remaining"]) == (60, 60)
    assert invoice_totals(customer) == [Decimal(-120), Decimal(160)]
    # The credit is kept by Stripe for the customer's next invoices.
    assert stripe_client(clean_stack).v1.customers.retrieve(stripe_customer).balance == -12000


def test_more_prepaid_packs_while_cancelling_keep_the_plan_ending_at_the_period_end(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    """quantity-while-cancelling: the packs bought are charged, and the cancellation (with
    the default plan scheduled after it) stands, here and in Stripe."""
    free = {
        "plan_id": "free",
        "name": "Free",
        "group": "main",
        "auto_enable": True,
        "items": [{"feature_id": "messages", "included": 5, "reset": {"interval": "month"}}],
    }
    stripe_customer = with_catalog(api, clean_stack, free, plan("packs", 20, packs(100, 10)))
    attach(api, "packs", 200)
    cancel = {"customer_id": "c1", "plan_id": "packs", "cancel_action": "cancel_end_of_cycle"}
    assert api.post("/v1/billing.update", json=cancel).status_code == 200

    more = {"customer_id": "c1", "plan_id": "packs", "feature_quantities": quantities(400)}
    updated = api.post("/v1/billing.update", json=more)

    assert updated.status_code == 200, updated.text
    assert dollars(updated.json()["invoice"]["total"]) == Decimal(20)
    customer = held(api)
    assert plans_held(customer) == [("free", "scheduled", False), ("packs", "active", True)]
    assert customer["balances"]["messages"]["granted"] == 400
    (subscription,) = (
        stripe_client(clean_stack).v1.subscriptions.list({"customer": stripe_customer}).data
    )
    assert subscription.cancel_at_period_end is True
    assert sorted(i.quantity for i in subscription["items"].data) == [1, 4]


@pytest.mark.parametrize(
    ("before", "after", "due"),
    [
        # $30 more for the plan, 3 packs more at $10.
        (200, 500, Decimal(60)),
        # $30 more for the plan, 3 packs fewer credited.
        (500, 200, Decimal(0)),
    ],
    ids=["more_packs", "fewer_packs"],
)
def test_an_upgrade_with_new_prepaid_quantities_charges_both_differences(
    api: httpx.Client, clean_stack: LocalStack, before: int, after: int, due: Decimal
) -> None:
    """immediate-switch-prepaid: Pro ($20) to Premium ($50), each with packs of 100 messages
    at $10: the difference of the plans and of the packs, on one invoice."""
    with_catalog(
        api, clean_stack, plan("pro", 20, packs(100, 10)), plan("premium", 50, packs(100, 10))
    )
    attach(api, "pro", before)
    body = {"customer_id": "c1", "plan_id": "premium", "feature_quantities": quantities(after)}

    preview = api.post("/v1/billing.preview_attach", json=body)
    upgraded = attach(api, "premium", after)

    assert dollars(preview.json()["total"]) == due
    assert dollars(upgraded["invoice"]["total"]) == due
    customer = held(api)
    assert plans_held(customer) == [("premium", "active", False)]
    assert customer["balances"]["messages"]["granted"] == after


def test_an_upgrade_without_quantities_keeps_the_prepaid_units_bought(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    """immediate-switch-prepaid-no-options: 300 messages bought on Pro stay bought on
    Premium (re-cut into its packs of 50); only the plans' difference is charged."""
    with_catalog(
        api, clean_stack, plan("pro", 20, packs(100, 10)), plan("premium", 50, packs(50, 5))
    )
    attach(api, "pro", 300)

    preview = preview_attach(api, "premium")
    upgraded = attach(api, "premium")

    assert dollars(preview["total"]) == Decimal(30)
    assert [
        (q["feature_id"], q["quantity"]) for q in preview["incoming"][0]["feature_quantities"]
    ] == [("messages", 300)]
    assert dollars(upgraded["invoice"]["total"]) == Decimal(30)
    customer = held(api)
    assert plans_held(customer) == [("premium", "active", False)]
    balance = customer["balances"]["messages"]
    assert (balance["granted"], balance["remaining"]) == (300, 300)
    assert invoice_totals(customer) == [Decimal(30), Decimal(50)]


def test_a_downgrade_without_quantities_schedules_the_prepaid_units_bought(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    """scheduled-switch-prepaid (no options): Premium's 500 messages are what Pro bills from
    the period end, in Pro's own packs (10 of 50)."""
    with_catalog(
        api, clean_stack, plan("pro", 20, packs(50, 10)), plan("premium", 50, packs(100, 10))
    )
    attach(api, "premium", 500)

    preview = preview_attach(api, "pro")
    attach(api, "pro")

    (incoming,) = preview["incoming"]
    assert [(q["feature_id"], q["quantity"]) for q in incoming["feature_quantities"]] == [
        ("messages", 500)
    ]
    assert dollars(preview["total"]) == 0
    assert dollars(preview["next_cycle"]["total"]) == Decimal(120)  # $20 and 10 packs of $10
    customer = held(api)
    assert plans_held(customer) == [("premium", "active", True), ("pro", "scheduled", False)]
    assert customer["balances"]["messages"]["granted"] == 500


def test_monthly_to_annual_is_an_upgrade_charged_now(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    """immediate-switch-billing-interval: $20 a month to $200 a year is an upgrade (the
    customer commits to more), though cheaper per month: $200 less the unused month, now."""
    stripe_customer = with_catalog(
        api, clean_stack, plan("pro", 20), plan("pro_annual", 200, interval="year")
    )
    attach(api, "pro")

    preview = preview_attach(api, "pro_annual")
    upgraded = attach(api, "pro_annual")

    assert dollars(preview["total"]) == Decimal(180)
    assert dollars(upgraded["invoice"]["total"]) == Decimal(180)
    customer = held(api)
    assert plans_held(customer) == [("pro_annual", "active", False)]
    assert invoice_totals(customer) == [Decimal(20), Decimal(180)]
    (subscription,) = (
        stripe_client(clean_stack).v1.subscriptions.list({"customer": stripe_customer}).data
    )
    item = subscription["items"].data[0]
    assert item.price.recurring.interval == "year"
    assert item.current_period_end - item.current_period_start >= YEAR_S


def test_an_add_on_cancelled_now_is_credited_and_its_overage_is_not_billed(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    """cancel-immediately-addon: a $20 add-on billing messages at $0.10 past none included,
    1,000 used, cancelled at once: its unused time is credited ($20 at the period's start),
    its usage is not billed, and the main plan stays."""
    usage_add_on = {
        "plan_id": "bursts",
        "name": "Bursts",
        "add_on": True,
        "price": {"amount": 20, "interval": "month"},
        "items": [
            {
                "feature_id": "messages",
                "included": 0,
                "reset": {"interval": "month"},
                "price": {"amount": 0.1, "interval": "month", "billing_method": "usage_based"},
            }
        ],
    }
    with_catalog(api, clean_stack, plan("pro", 20), usage_add_on)
    attach(api, "pro")
    attach(api, "bursts")
    used = {"customer_id": "c1", "feature_id": "messages", "value": 1000}
    assert api.post("/v1/balances.track", json=used).status_code == 200

    cancel = {"customer_id": "c1", "plan_id": "bursts", "cancel_action": "cancel_immediately"}
    cancelled = api.post("/v1/billing.update", json=cancel)

    assert cancelled.status_code == 200, cancelled.text
    customer = held(api)
    assert plans_held(customer) == [("pro", "active", False)]
    assert invoice_totals(customer) == [Decimal(-20), Decimal(20), Decimal(20)]
    assert "messages" not in customer["balances"]
