"""A recurring add-on attached again stacks, as in Autumn's add-on scenarios (attach a
recurring add-on, then the same one again: both charged, the balances summed, the Stripe
subscription billing its price twice): here one subscription of the add-on held twice
(`quantity: 2`), billed by its Stripe subscription's one item at quantity 2."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from billing.store.keys import STRIPE_EVENT_SK, stripe_event_pk
from local.stack import LocalStack
from tests.conftest import dynamodb_client, stripe_client
from tests.emulator.receiver import WebhookReceiver
from tests.integration.test_app_webhooks import verified, wait_for
from tests.stripe_clocks import advance as advance_clock

DAY_S = 24 * 3600

SUPPORT = {
    "plan_id": "support",
    "name": "Support",
    "add_on": True,
    "price": {"amount": 10, "interval": "month"},
    "items": [{"feature_id": "messages", "included": 50, "reset": {"interval": "month"}}],
}
PRO = {
    "plan_id": "pro",
    "name": "Pro",
    "price": {"amount": 20, "interval": "month"},
    "items": [{"feature_id": "messages", "included": 1000, "reset": {"interval": "month"}}],
}


def attach(api: httpx.Client, **body: Any) -> httpx.Response:
    return api.post("/v1/billing.attach", json={"customer_id": "c1", **body})


def customer(api: httpx.Client) -> dict[str, Any]:
    answer: dict[str, Any] = api.post("/v1/customers.get", json={"customer_id": "c1"}).json()
    return answer


def on_test_clock_with_card(api: httpx.Client, stack: LocalStack) -> tuple[Any, str, int]:
    """Customer c1 on a Stripe test clock with a card on file, holding Pro and the Support
    add-on; returns the Stripe client, the clock's id and its start."""
    for body in ({"feature_id": "messages", "name": "Messages", "type": "metered"},):
        assert api.post("/v1/features.create", json=body).status_code == 200
    for plan in (PRO, SUPPORT):
        assert api.post("/v1/plans.create", json=plan).status_code == 200
    stripe = stripe_client(stack)
    start = int(time.time())
    clock = stripe.v1.test_helpers.test_clocks.create({"frozen_time": start})
    on_clock = stripe.v1.customers.create({"test_clock": clock.id})
    card = stripe.v1.payment_methods.attach("pm_card_visa", {"customer": on_clock.id})
    stripe.v1.customers.update(
        on_clock.id, {"invoice_settings": {"default_payment_method": card.id}}
    )
    linked = api.post(
        "/v1/customers.get_or_create", json={"customer_id": "c1", "stripe_id": on_clock.id}
    )
    assert linked.status_code == 200
    assert attach(api, plan_id="pro").json()["invoice"]["status"] == "paid"
    assert attach(api, plan_id="support").json()["invoice"]["status"] == "paid"
    return stripe, clock.id, start


def add_on_subscription(stripe: Any, stripe_customer: str) -> Any:
    (found,) = [
        s
        for s in stripe.v1.subscriptions.list({"customer": stripe_customer}).data
        if s["items"].data[0].price.unit_amount == 1000
    ]
    return found


@pytest.mark.realistic_delivery
def test_a_recurring_add_on_attached_again_is_held_twice_charged_prorated_and_summed(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    stripe, clock_id, start = on_test_clock_with_card(api, clean_stack)
    advance_clock(stripe, clock_id, start + 15 * DAY_S)
    preview = api.post(
        "/v1/billing.preview_attach", json={"customer_id": "c1", "plan_id": "support"}
    )
    assert preview.status_code == 200, preview.text

    second = attach(api, plan_id="support")

    assert second.status_code == 200, second.text
    answer = second.json()
    assert answer["invoice"]["status"] == "paid"
    # Half a month left of the add-on's period: about half its price, as the preview said.
    assert 4 < answer["invoice"]["total"] < 6
    assert preview.json()["total"] == answer["invoice"]["total"]
    assert preview.json()["next_cycle"]["total"] == 20, "the add-on's next period bills it twice"
    held = customer(api)
    assert sorted((s["plan_id"], s["quantity"]) for s in held["subscriptions"]) == [
        ("pro", 1),
        ("support", 2),
    ]
    assert held["balances"]["messages"]["granted"] == 1000 + 50 + 50
    subscription = add_on_subscription(stripe, held["stripe_id"])
    assert [(i.price.unit_amount, i.quantity) for i in subscription["items"].data] == [(1000, 2)]
    assert len(stripe.v1.subscriptions.list({"customer": held["stripe_id"]}).data) == 2

    advance_clock(stripe, clock_id, start + 32 * DAY_S)

    renewal = stripe.v1.invoices.list({"subscription": subscription.id}).data[0]
    assert renewal.total == 2000, "the renewal bills the add-on twice"
    held = customer(api)
    assert held["balances"]["messages"]["granted"] == 1100
    assert held["balances"]["messages"]["remaining"] == 1100


@pytest.mark.realistic_delivery
def test_another_add_on_declined_is_granted_only_once_paid_on_the_invoice_page(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    stripe, _clock, _start = on_test_clock_with_card(api, clean_stack)
    stripe_customer = customer(api)["stripe_id"]
    failing = stripe.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", {"customer": stripe_customer}
    )
    subscription = add_on_subscription(stripe, stripe_customer)
    stripe.v1.subscriptions.update(subscription.id, {"default_payment_method": failing.id})

    answer = attach(api, plan_id="support").json()

    assert answer["required_action"]["code"] == "payment_failed"
    assert answer["payment_url"] == answer["invoice"]["hosted_invoice_url"] is not None
    held = customer(api)
    assert [s["quantity"] for s in held["subscriptions"] if s["plan_id"] == "support"] == [1]
    assert held["balances"]["messages"]["granted"] == 1050, "nothing granted before paid"
    subscription = add_on_subscription(stripe, stripe_customer)
    assert [i.quantity for i in subscription["items"].data] == [1]
    assert subscription.pending_update is not None

    paid = httpx.post(answer["payment_url"], data={"card_number": "4242424242424242"}, timeout=120)

    assert paid.status_code < 400, paid.text
    held = customer(api)
    assert [s["quantity"] for s in held["subscriptions"] if s["plan_id"] == "support"] == [2]
    assert held["balances"]["messages"]["granted"] == 1100
    subscription = add_on_subscription(stripe, stripe_customer)
    assert [i.quantity for i in subscription["items"].data] == [2]


def update(api: httpx.Client, **body: Any) -> httpx.Response:
    return api.post("/v1/billing.update", json={"customer_id": "c1", **body})


def test_cancelling_an_add_on_held_twice_ends_one_of_them_now_credits_it_and_tells_each_change(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    receiver = WebhookReceiver()
    try:
        endpoint = {"id": "app", "url": receiver.url, "events": ["customer.products.updated"]}
        secret = api.post("/v1/webhooks.create", json=endpoint).json()["secret"]
        stripe, clock_id, start = on_test_clock_with_card(api, clean_stack)
        assert attach(api, plan_id="support").status_code == 200
        advance_clock(stripe, clock_id, start + 15 * DAY_S)
        cancel = {"plan_id": "support", "cancel_action": "cancel_immediately"}
        preview = api.post("/v1/billing.preview_update", json={"customer_id": "c1", **cancel})
        assert preview.status_code == 200, preview.text

        response = update(api, **cancel)

        assert response.status_code == 200, response.text
        held = customer(api)
        assert sorted((s["plan_id"], s["quantity"]) for s in held["subscriptions"]) == [
            ("pro", 1),
            ("support", 1),
        ]
        assert held["balances"]["messages"]["granted"] == 1050
        subscription = add_on_subscription(stripe, held["stripe_id"])
        assert subscription.status == "active"
        assert [i.quantity for i in subscription["items"].data] == [1]
        credit = stripe.v1.invoices.list({"subscription": subscription.id}).data[0]
        # Half a month of one add-on given back, as the preview said.
        assert -600 < credit.total < -400
        assert preview.json()["total"] * 100 == credit.total

        def told() -> list[str]:
            sent = [verified(secret, post)["data"] for post in list(receiver.received)]
            return [d["scenario"] for d in sent if d["updated_product"]["id"] == "support"]

        # The application hears of the add-on, of another one attached, then of one ended.
        wait_for(lambda: told() == ["new", "new", "expired"])
        assert told() == ["new", "new", "expired"]
    finally:
        receiver.stop()


def test_cancelling_an_add_on_held_twice_at_the_end_of_the_cycle_ends_both_then(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    stripe, clock_id, start = on_test_clock_with_card(api, clean_stack)
    assert attach(api, plan_id="support").status_code == 200

    response = update(api, plan_id="support", cancel_action="cancel_end_of_cycle")

    assert response.status_code == 200, response.text
    (support,) = [s for s in customer(api)["subscriptions"] if s["plan_id"] == "support"]
    assert support["quantity"] == 2
    assert support["canceled_at"] is not None
    advance_clock(stripe, clock_id, start + 32 * DAY_S)
    held = customer(api)
    assert [s["plan_id"] for s in held["subscriptions"]] == ["pro"]
    assert held["balances"]["messages"]["granted"] == 1000


def test_another_add_on_asked_with_invoice_mode_or_a_trial_is_a_400_naming_it_and_changes_nothing(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    stripe, _clock, _start = on_test_clock_with_card(api, clean_stack)
    stripe_customer = customer(api)["stripe_id"]
    invoices_before = len(stripe.v1.invoices.list({"customer": stripe_customer}).data)
    trial = {"duration_length": 7, "duration_type": "day"}

    for asked, field in (
        ({"invoice_mode": {"enabled": True}}, "invoice_mode"),
        ({"free_trial": trial}, "free_trial"),
    ):
        for route in ("/v1/billing.attach", "/v1/billing.preview_attach"):
            response = api.post(route, json={"customer_id": "c1", "plan_id": "support", **asked})
            assert response.status_code == 400, (route, response.text)
            assert response.json()["details"][0]["field"] == field

    held = customer(api)
    assert [s["quantity"] for s in held["subscriptions"] if s["plan_id"] == "support"] == [1]
    assert len(stripe.v1.invoices.list({"customer": stripe_customer}).data) == invoices_before


def test_another_add_on_whose_answer_was_lost_is_not_charged_again_by_the_retry_with_its_key(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    stripe, _clock, _start = on_test_clock_with_card(api, clean_stack)
    stripe_customer = customer(api)["stripe_id"]
    emulator = clean_stack.emulator
    assert emulator is not None
    key = {"Idempotency-Key": "another-support-1"}
    body = {"customer_id": "c1", "plan_id": "support"}
    seen = {e["id"] for e in emulator.events("customer.subscription.updated")}
    # Stripe bills one more and is paid, but the paid invoice can't be read back: a 502.
    with clean_stack.stripe_webhooks_paused():
        emulator.fail_next("GET", "/v1/invoices/", status=502, times=3)
        lost = api.post("/v1/billing.attach", json=body, headers=key)
    assert lost.status_code == 502, lost.text
    # Its webhook lands before the caller retries: our copy holds two.
    for event in emulator.events("customer.subscription.updated"):
        if event["id"] not in seen:
            emulator.redeliver(event["id"])
    assert [s["quantity"] for s in customer(api)["subscriptions"] if s["plan_id"] == "support"] == [
        2
    ]

    retried = api.post("/v1/billing.attach", json=body, headers=key)

    assert retried.status_code == 200, retried.text
    held = customer(api)
    assert [s["quantity"] for s in held["subscriptions"] if s["plan_id"] == "support"] == [2]
    assert held["balances"]["messages"]["granted"] == 1100
    subscription = add_on_subscription(stripe, stripe_customer)
    assert [i.quantity for i in subscription["items"].data] == [2]
    paid = stripe.v1.invoices.list({"subscription": subscription.id}).data
    assert [i.total for i in paid if i.status == "paid"] == [1000, 1000], "charged once more"


def test_another_add_on_asked_with_a_card_setup_is_added_once_however_often_its_event_comes(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    stripe, _clock, _start = on_test_clock_with_card(api, clean_stack)
    asked = {"customer_id": "c1", "plan_id": "support", "success_url": "https://app.example.com"}
    url = api.post("/v1/billing.setup_payment", json=asked).json()["url"]
    page = httpx.post(url, data={"card_number": "4242424242424242"}, timeout=120)
    assert page.status_code == 303, page.text
    assert clean_stack.emulator is not None
    (completed,) = clean_stack.emulator.events("checkout.session.completed")

    # Delivered again as if never seen (its claim forgotten): the attach runs again.
    dynamodb_client(clean_stack).delete_item(
        TableName=clean_stack.config.table_name,
        Key={"PK": {"S": stripe_event_pk(completed["id"])}, "SK": {"S": STRIPE_EVENT_SK}},
    )
    clean_stack.emulator.redeliver(completed["id"])

    held = customer(api)
    assert [s["quantity"] for s in held["subscriptions"] if s["plan_id"] == "support"] == [2]
    assert held["balances"]["messages"]["granted"] == 1100
    subscription = add_on_subscription(stripe, held["stripe_id"])
    assert [i.quantity for i in subscription["items"].data] == [2]
