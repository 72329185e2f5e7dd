"""The Stripe webhook lifecycle on the local stack, moved through time with the emulator's
test clocks: renewals bill usage in arrears once and reset balances, failed payments mark
plans past due until a payment succeeds, and every event delivered twice or shuffled ends in
the same state as delivered once in order."""

from __future__ import annotations

import json
import random
from typing import Any

import httpx
import pytest

from local.stack import LocalStack
from tests.conftest import stripe_client, table_items
from tests.emulator.receiver import WebhookReceiver
from tests.integration.test_app_webhooks import PRODUCTS_UPDATED, endpoint, verified, wait_for
from tests.integration.test_attach_api import pay_on_checkout_page
from tests.lifecycle import PRO, paid_pro_customer
from tests.stripe_clocks import advance as advance_clock
from tests.stripe_events import signed

pytestmark = pytest.mark.slow

DAY = 86400


@pytest.fixture
def subscribed(api: httpx.Client, clean_stack: LocalStack) -> dict[str, Any]:
    """Customer c1 on Pro, paid with the card on file; its Stripe customer on a test clock."""
    return paid_pro_customer(api, clean_stack, "pm_card_visa")


def use(api: httpx.Client, value: int) -> None:
    tracked = api.post(
        "/v1/balances.track",
        json={
            "customer_id": "c1",
            "feature_id": "messages",
            "value": value,
            "overage_behavior": "overflow",
        },
    )
    assert tracked.status_code == 200, tracked.text


def advance(stack: LocalStack, clock: str, to: int) -> None:
    advance_clock(stripe_client(stack), clock, to)


def customer(api: httpx.Client) -> dict[str, Any]:
    answer: dict[str, Any] = api.post("/v1/customers.get", json={"customer_id": "c1"}).json()
    return answer


def renewal(stack: LocalStack, subscribed: dict[str, Any]) -> Any:
    stripe = stripe_client(stack)
    latest = stripe.v1.subscriptions.retrieve(subscribed["subscription"]).latest_invoice
    return stripe.v1.invoices.retrieve(latest)


def overage_lines(invoice: Any) -> list[Any]:
    return [line for line in invoice.lines.data if line.parent.type == "invoice_item_details"]


def test_a_renewal_bills_the_overage_once_and_resets_the_balance(
    api: httpx.Client, clean_stack: LocalStack, subscribed: dict[str, Any]
) -> None:
    use(api, 130)
    shown = customer(api)["balances"]["messages"]
    assert (shown["usage"], shown["remaining"]) == (130, 0), "30 past the allowance"

    advance(clean_stack, subscribed["clock"], subscribed["period_end"] + 60)
    draft = renewal(clean_stack, subscribed)
    assert (draft.billing_reason, draft.status) == ("subscription_cycle", "draft")
    events = clean_stack.emulator.events("invoice.created")
    (created,) = [e for e in events if e["data"]["object"]["id"] == draft.id]
    clean_stack.emulator.redeliver(created["id"])
    clean_stack.emulator.redeliver(created["id"])

    draft = renewal(clean_stack, subscribed)
    (overage,) = overage_lines(draft)
    assert (overage.quantity, overage.amount) == (30, 1500)
    balance = customer(api)["balances"]["messages"]
    assert (balance["usage"], balance["remaining"]) == (0, 100)

    use(api, 10)  # the new period's usage is not the closed period's
    advance(clean_stack, subscribed["clock"], subscribed["period_end"] + DAY)

    paid = renewal(clean_stack, subscribed)
    assert (paid.status, paid.amount_paid) == ("paid", 2000 + 1500)
    assert len(overage_lines(paid)) == 1
    assert customer(api)["balances"]["messages"]["usage"] == 10
    (held,) = customer(api)["subscriptions"]
    assert held["current_period_start"] == subscribed["period_end"] * 1000
    next_end = stripe_client(clean_stack).v1.subscriptions.retrieve(subscribed["subscription"])
    assert held["current_period_end"] == next_end["items"].data[0].current_period_end * 1000


def test_a_crash_after_the_period_closed_still_bills_its_overage_once(
    api: httpx.Client, clean_stack: LocalStack, subscribed: dict[str, Any]
) -> None:
    """The first delivery of invoice.created closes the period (balances reset) and then
    fails to add the invoice item (Stripe down): the retry bills what the closed period
    used, not the reset balance, and only once."""
    use(api, 130)
    clean_stack.emulator.fail_next("POST", "/v1/invoiceitems", times=3)

    advance(clean_stack, subscribed["clock"], subscribed["period_end"] + 60)

    created = [d for d in clean_stack.emulator.deliveries() if d["event_type"] == "invoice.created"]
    succeeded = [d["succeeded"] for d in created]
    assert False in succeeded, "the renewal's invoice.created failed"
    assert True in succeeded[succeeded.index(False) + 1 :], "and a later delivery succeeded"
    (overage,) = overage_lines(renewal(clean_stack, subscribed))
    assert (overage.quantity, overage.amount) == (30, 1500)
    assert customer(api)["balances"]["messages"]["usage"] == 0


def test_a_failed_renewal_is_past_due_at_once_and_a_later_successful_retry_restores_it(
    api: httpx.Client, clean_stack: LocalStack, subscribed: dict[str, Any]
) -> None:
    stripe = stripe_client(clean_stack)
    failing = stripe.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", {"customer": subscribed["stripe_id"]}
    )
    stripe.v1.subscriptions.update(
        subscribed["subscription"], {"default_payment_method": failing.id}
    )

    advance(clean_stack, subscribed["clock"], subscribed["period_end"] + DAY)

    failed = renewal(clean_stack, subscribed)
    assert failed.status == "open"
    (held,) = customer(api)["subscriptions"]
    assert (held["plan_id"], held["past_due"]) == ("pro", True)
    assert customer(api)["balances"]["messages"]["granted"] == 100, "access is kept"

    good = stripe.v1.payment_methods.attach("pm_card_visa", {"customer": subscribed["stripe_id"]})
    stripe.v1.subscriptions.update(subscribed["subscription"], {"default_payment_method": good.id})
    assert failed.next_payment_attempt is not None, "Stripe retries a failed renewal"

    advance(clean_stack, subscribed["clock"], failed.next_payment_attempt + 60)

    assert stripe.v1.invoices.retrieve(failed.id).status == "paid"
    (held,) = customer(api)["subscriptions"]
    assert held["past_due"] is False


def replay_everything(stack: LocalStack, shuffled: bool) -> None:
    """Every event the emulator recorded, delivered again (shuffled, or in order)."""
    events = stack.emulator.events()
    if shuffled:
        random.Random(7).shuffle(events)
    for event in events:
        stack.emulator.redeliver(event["id"])


def state(stack: LocalStack, api: httpx.Client) -> tuple[Any, ...]:
    held = customer(api)
    invoices = api.post("/v1/invoices.list", json={"customer_id": "c1"}).json()["list"]
    return (
        [(s["plan_id"], s["status"], s["past_due"]) for s in held["subscriptions"]],
        held["balances"]["messages"]["usage"],
        held["balances"]["messages"]["granted"],
        sorted((i["stripe_id"], i["status"], i["total"]) for i in invoices),
        sorted(
            len(overage_lines(i))
            for i in stripe_client(stack)
            .v1.invoices.list({"customer": customer(api)["stripe_id"]})
            .data
        ),
    )


@pytest.mark.parametrize("shuffled", [False, True], ids=["twice-in-order", "twice-shuffled"])
def test_every_event_delivered_again_or_shuffled_ends_in_the_same_state(
    api: httpx.Client, clean_stack: LocalStack, subscribed: dict[str, Any], shuffled: bool
) -> None:
    use(api, 130)
    advance(clean_stack, subscribed["clock"], subscribed["period_end"] + DAY)
    use(api, 7)
    settled = state(clean_stack, api)

    replay_everything(clean_stack, shuffled)

    assert state(clean_stack, api) == settled
    assert settled[1] == 7
    assert settled[4] == [0, 1]


def test_a_forged_or_stale_signature_is_400_and_changes_nothing(
    api: httpx.Client, clean_stack: LocalStack, subscribed: dict[str, Any]
) -> None:
    advance(clean_stack, subscribed["clock"], subscribed["period_end"] + 60)
    (created,) = clean_stack.emulator.events("invoice.created")[-1:]
    before = table_items(clean_stack)
    body = json.dumps(created).encode()
    with httpx.Client(base_url=clean_stack.api_url) as stripe:
        forged = stripe.post(
            "/webhooks/stripe", content=body, headers=signed(body, secret="whsec_forged")
        )
        stale = stripe.post("/webhooks/stripe", content=body, headers=signed(body, at=1))

    assert (forged.status_code, stale.status_code) == (400, 400)
    assert table_items(clean_stack) == before


def test_an_event_for_a_stripe_customer_that_is_none_of_ours_is_acknowledged_without_a_write(
    clean_stack: LocalStack,
) -> None:
    stripe = stripe_client(clean_stack)
    stranger = stripe.v1.customers.create({"name": "Not ours"})
    before = table_items(clean_stack)

    stripe.v1.customers.update(stranger.id, {"name": "Still not ours"})

    assert all(a["succeeded"] for a in clean_stack.emulator.deliveries())
    written = [i for i in table_items(clean_stack) if not i["PK"]["S"].startswith("STRIPE_EVT#")]
    assert written == [i for i in before if not i["PK"]["S"].startswith("STRIPE_EVT#")]


def test_the_application_is_told_of_renewals_past_due_plans_and_finalized_invoices(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    receiver = WebhookReceiver()
    try:
        secret = endpoint(api, receiver.url)["secret"]
        subscribed = paid_pro_customer(api, clean_stack, "pm_card_visa")
        stripe = stripe_client(clean_stack)
        renewal_end = subscribed["period_end"]
        advance(clean_stack, subscribed["clock"], renewal_end + DAY)
        failing = stripe.v1.payment_methods.attach(
            "pm_card_chargeCustomerFail", {"customer": subscribed["stripe_id"]}
        )
        stripe.v1.subscriptions.update(
            subscribed["subscription"], {"default_payment_method": failing.id}
        )
        second_end = (
            stripe.v1.subscriptions.retrieve(subscribed["subscription"])["items"]
            .data[0]
            .current_period_end
        )
        advance(clean_stack, subscribed["clock"], second_end + DAY)

        def told() -> list[dict[str, Any]]:
            return [verified(secret, post) for post in receiver.received]

        wait_for(
            lambda: (
                {"past_due", "renew"}
                <= {p["data"].get("scenario") for p in told() if p["type"] == PRODUCTS_UPDATED}
                and any(p["type"] == "billing.updated" for p in told())
            ),
            timeout_s=20,
        )
        payloads = told()
    finally:
        receiver.stop()
    scenarios = [
        (p["data"]["scenario"], p["data"]["updated_product"]["id"])
        for p in payloads
        if p["type"] == PRODUCTS_UPDATED
    ]
    assert scenarios.count(("renew", "pro")) == 2
    assert ("past_due", "pro") in scenarios
    finalized = [p["data"] for p in payloads if p["type"] == "invoice.finalized"]
    assert len(finalized) >= 2
    assert all(f["plan_ids"] == ["pro"] and f["stripe_id"].startswith("in_") for f in finalized)
    assert any(p["type"] == "billing.updated" for p in payloads)


def test_a_renewal_failing_before_its_purchase_was_granted_is_retried_not_lost(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    """Stripe's events arrive late and in any order: here the renewal's failure comes before
    the checkout that bought the plan was processed. It is refused (503, Stripe delivers it
    again) and, once the plan is granted, its redelivery marks the plan past due."""
    api.post(
        "/v1/features.create",
        json={"feature_id": "messages", "name": "Messages", "type": "metered"},
    )
    api.post("/v1/plans.create", json=PRO)
    linked = api.post(
        "/v1/customers.get_or_create", json={"customer_id": "c1", "create_in_stripe": True}
    ).json()
    stripe = stripe_client(clean_stack)
    with clean_stack.stripe_webhooks_paused():
        answer = api.post(
            "/v1/billing.attach",
            json={"customer_id": "c1", "plan_id": "pro", "success_url": "https://app.example.com"},
        ).json()
        assert pay_on_checkout_page(answer["payment_url"], "4242 4242 4242 4242").status_code == 303
        (subscription,) = stripe.v1.subscriptions.list({"customer": linked["stripe_id"]}).data
        failing = stripe.v1.payment_methods.attach(
            "pm_card_chargeCustomerFail", {"customer": linked["stripe_id"]}
        )
        stripe.v1.subscriptions.update(subscription.id, {"default_payment_method": failing.id})
        clock = stripe.v1.customers.retrieve(linked["stripe_id"]).test_clock
        period_end = subscription["items"].data[0].current_period_end
        advance(clean_stack, clock, period_end + DAY)
    (failed,) = clean_stack.emulator.events("invoice.payment_failed")
    (completed,) = clean_stack.emulator.events("checkout.session.completed")

    clean_stack.emulator.redeliver(failed["id"])
    refused = [d for d in clean_stack.emulator.deliveries() if d["event_id"] == failed["id"]]
    assert len(refused) == 4, "refused, and retried by Stripe"
    assert {d["status"] for d in refused} == {503}
    assert customer(api)["subscriptions"] == []

    clean_stack.emulator.redeliver(completed["id"])
    clean_stack.emulator.redeliver(failed["id"])

    (held,) = customer(api)["subscriptions"]
    assert (held["plan_id"], held["past_due"]) == ("pro", True)
