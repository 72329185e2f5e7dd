"""Overage billed in arrears under the default overage_behavior, as Autumn bills it (its
invoice.created consumable scenarios): a plan item with a usage-based price takes every use
past its allowance, and the renewal bills the base price plus the overage, to the cent."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from billing.store.keys import STRIPE_EVENT_SK, stripe_event_pk
from local.stack import LocalStack
from tests.conftest import dynamodb_client, stripe_client
from tests.stripe_clocks import advance

pytestmark = pytest.mark.slow

CENT = Decimal("0.01")
MESSAGES = {"feature_id": "messages", "name": "Messages", "type": "metered"}


def pro_with_overage(unit_price: float, billing_units: int) -> dict[str, Any]:
    """$20 a month, 100 messages included, then `unit_price` per `billing_units` messages."""
    return {
        "plan_id": "pro",
        "name": "Pro",
        "price": {"amount": 20, "interval": "month"},
        "items": [
            {
                "feature_id": "messages",
                "included": 100,
                "reset": {"interval": "month"},
                "price": {
                    "amount": unit_price,
                    "interval": "month",
                    "billing_method": "usage_based",
                    "billing_units": billing_units,
                },
            }
        ],
    }


def subscribe(
    api: httpx.Client, stack: LocalStack, plan: dict[str, Any], *also: dict[str, Any]
) -> dict[str, Any]:
    """Customer c1 on `plan` (the plans `also` in the catalog too), paid with a card on
    file; its Stripe customer on a test clock."""
    assert api.post("/v1/features.create", json=MESSAGES).status_code == 200
    for other in also:
        assert api.post("/v1/plans.create", json=other).status_code == 200
    created = api.post("/v1/plans.create", json=plan)
    assert created.status_code == 200, created.text
    linked = api.post(
        "/v1/customers.get_or_create", json={"customer_id": "c1", "create_in_stripe": True}
    ).json()
    stripe = stripe_client(stack)
    card = stripe.v1.payment_methods.attach("pm_card_visa", {"customer": linked["stripe_id"]})
    stripe.v1.customers.update(
        linked["stripe_id"], {"invoice_settings": {"default_payment_method": card.id}}
    )
    attached = api.post("/v1/billing.attach", json={"customer_id": "c1", "plan_id": "pro"})
    assert attached.status_code == 200, attached.text
    (subscription,) = stripe.v1.subscriptions.list({"customer": linked["stripe_id"]}).data
    return {
        "clock": stripe.v1.customers.retrieve(linked["stripe_id"]).test_clock,
        "period_end": subscription["items"].data[0].current_period_end,
        "stripe_customer": linked["stripe_id"],
    }


def invoice_totals(api: httpx.Client) -> list[Decimal]:
    """The customer's invoices, oldest first, in dollars as the API shows them."""
    listed = api.post("/v1/invoices.list", json={"customer_id": "c1"})
    assert listed.status_code == 200, listed.text
    invoices = sorted(listed.json()["list"], key=lambda i: i["created_at"])
    return [Decimal(str(i["total"])).quantize(CENT) for i in invoices]


def messages(api: httpx.Client) -> dict[str, Any]:
    answer = api.post("/v1/customers.get", json={"customer_id": "c1"}).json()
    balance: dict[str, Any] = answer["balances"]["messages"]
    return balance


@pytest.mark.parametrize(
    ("unit_price", "billing_units", "used", "renewal"),
    [
        # 150.5 past the allowance: 151 whole units at $0.10.
        (0.1, 1, 250.5, Decimal("35.10")),
        # Within the allowance: the base price alone.
        (0.1, 1, 50, Decimal("20.00")),
        # 900 past it at $0.10.
        (0.1, 1, 1000, Decimal("110.00")),
        # 55 past it rounds up to 6 packages of 10 at $1.
        (1, 10, 155, Decimal("26.00")),
    ],
)
def test_the_renewal_bills_overage_tracked_with_the_default_overage_behavior(
    api: httpx.Client,
    clean_stack: LocalStack,
    unit_price: float,
    billing_units: int,
    used: float,
    renewal: Decimal,
) -> None:
    held = subscribe(api, clean_stack, pro_with_overage(unit_price, billing_units))
    # No overage_behavior: Autumn's default, `cap`.
    tracked = api.post(
        "/v1/balances.track", json={"customer_id": "c1", "feature_id": "messages", "value": used}
    )
    assert tracked.status_code == 200, tracked.text
    taken = sum(Decimal(str(d["value"])) for d in tracked.json()["deductions"])
    assert taken == Decimal(str(used))
    # Past the allowance the answer shows the use as usage and nothing remaining (Autumn's
    # Balance has no negative remaining).
    shown = messages(api)
    assert Decimal(str(shown["remaining"])) == max(100 - Decimal(str(used)), Decimal(0))
    assert Decimal(str(shown["usage"])) == Decimal(str(used))
    # Overage is allowed: a check still lets the customer use the feature.
    checked = api.post("/v1/balances.check", json={"customer_id": "c1", "feature_id": "messages"})
    assert checked.json()["allowed"] is True

    advance(stripe_client(clean_stack), held["clock"], held["period_end"] + 86400)

    assert invoice_totals(api) == [Decimal("20.00"), renewal]
    balance = messages(api)
    assert (balance["usage"], balance["remaining"]) == (0, 100)


def test_cancel_immediately_credits_the_unused_time_and_bills_no_overage(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    """Autumn's cancel-consumable scenario: 400 messages past the allowance, then cancel
    immediately at the start of the cycle. Autumn's final invoice is the base price's credit
    alone (-$20); overage billed in arrears is not charged on an immediate cancel (only a
    period that closes bills it), and the preview says the same total."""
    subscribe(api, clean_stack, pro_with_overage(0.1, 1))
    tracked = api.post(
        "/v1/balances.track", json={"customer_id": "c1", "feature_id": "messages", "value": 500}
    )
    assert tracked.status_code == 200, tracked.text
    cancel = {"customer_id": "c1", "plan_id": "pro", "cancel_action": "cancel_immediately"}

    preview = api.post("/v1/billing.preview_update", json=cancel)
    assert preview.status_code == 200, preview.text
    canceled = api.post("/v1/billing.update", json=cancel)

    assert canceled.status_code == 200, canceled.text
    # The attach's $20 and the final invoice (made in the same second, so sorted by amount).
    credit, paid = sorted(invoice_totals(api))
    assert paid == Decimal("20.00")
    # Cancelled within seconds of the attach: the whole month's credit, to within the
    # cents those seconds of proration take; no overage ($40) on it.
    assert Decimal("-20.00") <= credit <= Decimal("-19.98"), credit
    assert Decimal(str(preview.json()["total"])).quantize(CENT) == credit
    held = api.post("/v1/customers.get", json={"customer_id": "c1"}).json()
    assert held["subscriptions"] == []


FREE_DEFAULT = {
    "plan_id": "free",
    "name": "Free",
    "auto_enable": True,
    "items": [{"feature_id": "messages", "included": 100, "reset": {"interval": "month"}}],
}


@pytest.mark.realistic_delivery
def test_overage_of_a_plan_canceled_at_the_period_end_is_billed_on_a_final_invoice(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    """Autumn's cancel-end-of-cycle consumable scenario: 400 messages past the allowance,
    `cancel_end_of_cycle`, then the period ends. No renewal comes to carry the overage, so a
    final invoice bills it alone ($40), charged to the card on file; the plan is gone and the
    default plan given back. However often (and late) Stripe's events come, it is billed once."""
    held = subscribe(api, clean_stack, pro_with_overage(0.1, 1), FREE_DEFAULT)
    used = {"customer_id": "c1", "feature_id": "messages", "value": 500}
    assert api.post("/v1/balances.track", json=used).status_code == 200
    cancel = {"customer_id": "c1", "plan_id": "pro", "cancel_action": "cancel_end_of_cycle"}
    assert api.post("/v1/billing.update", json=cancel).status_code == 200

    advance(stripe_client(clean_stack), held["clock"], held["period_end"] + 86400)

    assert invoice_totals(api) == [Decimal("20.00"), Decimal("40.00")]
    shown = api.post("/v1/customers.get", json={"customer_id": "c1", "expand": ["invoices"]})
    final = shown.json()["invoices"][0]
    assert (final["status"], Decimal(str(final["total"]))) == ("paid", Decimal("40"))
    assert final["plan_ids"] == ["pro"]
    assert [s["plan_id"] for s in shown.json()["subscriptions"]] == ["free"]
    assert final_invoices(clean_stack, held["stripe_customer"]) == [("paid", 4000, 1)]

    # Stripe delivers the end again after we forgot we saw it (its retries last days): the
    # final invoice is found, and nothing is billed twice.
    redelivered_unseen(clean_stack, "customer.subscription.deleted")
    assert final_invoices(clean_stack, held["stripe_customer"]) == [("paid", 4000, 1)]
    assert invoice_totals(api) == [Decimal("20.00"), Decimal("40.00")]


def final_invoices(stack: LocalStack, stripe_customer: str) -> list[tuple[str, int, int]]:
    """Stripe's invoices not made by a subscription: status, total (cents), item count."""
    stripe = stripe_client(stack)
    return [
        (i.status, i.total, len(stripe.v1.invoice_items.list({"invoice": i.id}).data))
        for i in stripe.v1.invoices.list({"customer": stripe_customer}).data
        if i.parent is None
    ]


def redelivered_unseen(stack: LocalStack, event_type: str) -> None:
    """Every event of the type delivered twice more, its claim forgotten first (as if
    never seen), each delivery answered 2xx."""
    assert stack.emulator is not None
    table = dynamodb_client(stack)
    for event in stack.emulator.events(event_type):
        for _ in range(2):
            table.delete_item(
                TableName=stack.config.table_name,
                Key={"PK": {"S": stripe_event_pk(event["id"])}, "SK": {"S": STRIPE_EVENT_SK}},
            )
            stack.emulator.redeliver(event["id"])
            stack.settle()
            (last,) = [a for a in stack.emulator.deliveries() if a["event_id"] == event["id"]][-1:]
            assert 200 <= last["status"] < 300, last


def test_a_final_invoice_is_found_again_past_the_customers_latest_100_invoices_and_items(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    """The final invoice's overage billed, then the customer buys a lot (101 invoices of
    one item each, made in Stripe). Stripe delivers the end again days later, after it
    forgot our idempotency keys: the final invoice and its charge are found however far
    back they are, and nothing is billed again."""
    held = subscribe(api, clean_stack, pro_with_overage(0.1, 1), FREE_DEFAULT)
    used = {"customer_id": "c1", "feature_id": "messages", "value": 500}
    assert api.post("/v1/balances.track", json=used).status_code == 200
    cancel = {"customer_id": "c1", "plan_id": "pro", "cancel_action": "cancel_end_of_cycle"}
    assert api.post("/v1/billing.update", json=cancel).status_code == 200
    advance(stripe_client(clean_stack), held["clock"], held["period_end"] + 86400)
    assert invoice_totals(api) == [Decimal("20.00"), Decimal("40.00")]
    stripe = stripe_client(clean_stack)
    customer = held["stripe_customer"]
    with clean_stack.stripe_webhooks_paused():
        for _ in range(101):
            item: Any = {"customer": customer, "amount": 500, "currency": "usd"}
            stripe.v1.invoice_items.create(item)
            bought: Any = {"customer": customer, "pending_invoice_items_behavior": "include"}
            stripe.v1.invoices.create(bought)
    assert clean_stack.emulator is not None
    clean_stack.emulator.forget_idempotency_keys()

    redelivered_unseen(clean_stack, "customer.subscription.deleted")

    every: Any = {"customer": customer, "limit": 100}
    finals = [
        i.id
        for i in stripe.v1.invoices.list(every).auto_paging_iter()
        if "billing_final_period" in (i.metadata or {})
    ]
    charged = [
        i.id
        for i in stripe.v1.invoice_items.list(every).auto_paging_iter()
        if "billing_charge" in (i.metadata or {})
    ]
    assert (len(finals), len(charged)) == (1, 1)
    assert invoice_totals(api) == [Decimal("20.00"), Decimal("40.00")]


BASIC = {
    "plan_id": "basic",
    "name": "Basic",
    "price": {"amount": 10, "interval": "month"},
    "items": [{"feature_id": "messages", "included": 50, "reset": {"interval": "month"}}],
}


@pytest.mark.parametrize(
    ("ending", "invoices", "held_after"),
    [
        # Autumn's scheduled-switch consumable scenarios: a downgrade to a free plan ends the
        # subscription at the period end, the overage alone on a final invoice.
        (("attach", "free"), [Decimal("20.00"), Decimal("40.00")], "free"),
        # A downgrade to another paid plan switches in on the same subscription: the renewal
        # bills the new plan's price and the old plan's overage together ($10 + $40).
        (("attach", "basic"), [Decimal("20.00"), Decimal("50.00")], "basic"),
        # disable_overage_billing: the plan ends and nothing more is billed.
        (("no_overage", "cancel_end_of_cycle"), [Decimal("20.00")], "free"),
    ],
    ids=["downgrade_to_free", "downgrade_to_paid", "overage_billing_disabled"],
)
def test_the_overage_of_a_plan_leaving_at_the_period_end_is_billed_once(
    api: httpx.Client,
    clean_stack: LocalStack,
    ending: tuple[str, str],
    invoices: list[Decimal],
    held_after: str,
) -> None:
    free = {**FREE_DEFAULT, "auto_enable": ending[1] == "cancel_end_of_cycle"}
    held = subscribe(api, clean_stack, pro_with_overage(0.1, 1), free, BASIC)
    if ending[0] == "no_overage":
        config = {"customer_id": "c1", "config": {"disable_overage_billing": True}}
        assert api.post("/v1/customers.update", json=config).status_code == 200
    used = {"customer_id": "c1", "feature_id": "messages", "value": 500}
    assert api.post("/v1/balances.track", json=used).status_code == 200
    if ending[0] == "attach":
        asked = api.post("/v1/billing.attach", json={"customer_id": "c1", "plan_id": ending[1]})
    else:
        cancel = {"customer_id": "c1", "plan_id": "pro", "cancel_action": ending[1]}
        asked = api.post("/v1/billing.update", json=cancel)
    assert asked.status_code == 200, asked.text

    advance(stripe_client(clean_stack), held["clock"], held["period_end"] + 86400)

    assert invoice_totals(api) == invoices
    shown = api.post("/v1/customers.get", json={"customer_id": "c1"}).json()
    assert [s["plan_id"] for s in shown["subscriptions"]] == [held_after]
    # The plan switched to starts its own period afresh.
    assert (shown["balances"]["messages"]["usage"], shown["balances"]["messages"]["remaining"]) == (
        0,
        100 if held_after == "free" else 50,
    )


def test_a_downgrades_overage_missing_from_a_renewal_finalized_without_us_goes_on_the_next_one(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    """Our webhook route is down through the period end for longer than Stripe waits
    before finalizing a renewal (72 hours): the downgrade's renewal is paid without the old
    plan's overage. Heard late, the overage goes on the next invoice, once."""
    held = subscribe(api, clean_stack, pro_with_overage(0.1, 1), BASIC)
    used = {"customer_id": "c1", "feature_id": "messages", "value": 500}
    assert api.post("/v1/balances.track", json=used).status_code == 200
    assert api.post("/v1/billing.attach", json={"customer_id": "c1", "plan_id": "basic"}).is_success
    emulator = clean_stack.emulator
    assert emulator is not None
    seen = {e["id"] for e in emulator.events()}
    with clean_stack.stripe_webhooks_paused():
        advance(stripe_client(clean_stack), held["clock"], held["period_end"] + 4 * 86400)
    # Heard at last, in the order Stripe made them, then each once more.
    for _ in range(2):
        for event in emulator.events():
            if event["id"] not in seen:
                emulator.redeliver(event["id"])
    assert invoice_totals(api) == [Decimal("20.00"), Decimal("10.00")]

    advance(stripe_client(clean_stack), held["clock"], held["period_end"] + 35 * 86400)

    # The next renewal: Basic's $10 and the $40 of Pro's last period.
    assert invoice_totals(api) == [Decimal("20.00"), Decimal("10.00"), Decimal("50.00")]


PREMIUM = {
    "plan_id": "premium",
    "name": "Premium",
    "price": {"amount": 50, "interval": "month"},
    "items": [{"feature_id": "messages", "included": 1000, "reset": {"interval": "month"}}],
}


@pytest.mark.realistic_delivery
@pytest.mark.parametrize(
    ("overage_billing", "due_now"),
    [
        # 150 used, 50 past Pro's 100 at $0.10: the $30 prorated difference and the $5.
        (True, Decimal("35.00")),
        # disable_overage_billing: the difference alone.
        (False, Decimal("30.00")),
    ],
    ids=["overage_billed", "overage_billing_disabled"],
)
def test_an_immediate_upgrade_bills_the_old_plans_overage_once(
    api: httpx.Client, clean_stack: LocalStack, overage_billing: bool, due_now: Decimal
) -> None:
    """Autumn's upgrade scenarios with a usage-based item: the overage the old plan accrued
    in the period is billed with the upgrade (and shown by its preview), and the renewal
    bills the new plan alone."""
    held = subscribe(api, clean_stack, pro_with_overage(0.1, 1), PREMIUM)
    if not overage_billing:
        config = {"customer_id": "c1", "config": {"disable_overage_billing": True}}
        assert api.post("/v1/customers.update", json=config).status_code == 200
    used = {"customer_id": "c1", "feature_id": "messages", "value": 150}
    assert api.post("/v1/balances.track", json=used).status_code == 200
    upgrade = {"customer_id": "c1", "plan_id": "premium"}

    preview = api.post("/v1/billing.preview_attach", json=upgrade)
    assert preview.status_code == 200, preview.text
    assert Decimal(str(preview.json()["total"])).quantize(CENT) == due_now
    # billing.update switching to the plan previews the same.
    preview = api.post("/v1/billing.preview_update", json=upgrade)
    assert preview.status_code == 200, preview.text
    assert Decimal(str(preview.json()["total"])).quantize(CENT) == due_now
    attached = api.post("/v1/billing.attach", json=upgrade)
    assert attached.status_code == 200, attached.text
    # A retry of the same upgrade bills nothing more.
    assert api.post("/v1/billing.attach", json=upgrade).status_code in (200, 409)

    # (Invoices made at one test-clock instant have no order among them: summed.)
    assert sum(invoice_totals(api), Decimal(0)) == Decimal("20.00") + due_now
    assert (messages(api)["usage"], messages(api)["remaining"]) == (0, 1000)

    advance(stripe_client(clean_stack), held["clock"], held["period_end"] + 86400)

    # The renewal: Premium's $50, and no overage of Pro's billed again.
    renewed = invoice_totals(api)
    assert renewed[-1] == Decimal("50.00")
    assert sum(renewed, Decimal(0)) == Decimal("70.00") + due_now
