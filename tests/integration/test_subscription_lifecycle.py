"""Scenarios through Stripe's customer.subscription.* webhooks, on the local stack with the
emulator's test clock: a cancellation made on the Stripe portal, a trial ending without a
card, and every event of each delivered again, twice and shuffled, changing nothing."""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from billing.domain.stripe_subscriptions import StripeSubscription
from billing.services.billing.subscription_sync import sync_subscription
from billing.stripe_api import get_gateway
from billing.stripe_api.gateway import StripeGateway
from billing.stripe_api.objects import classic_billing
from billing.stripe_api.subscriptions import Subscriptions
from local.stack import LocalStack
from tests.conftest import dynamodb_client, stripe_client, table_items
from tests.emulator.receiver import WebhookReceiver
from tests.integration.test_app_webhooks import verified, wait_for
from tests.stripe_clocks import advance as advance_clock

DAY = 24 * 3600
FREE = {
    "plan_id": "free",
    "name": "Free",
    "auto_enable": True,
    "items": [{"feature_id": "messages", "included": 100}],
}
PRO = {
    "plan_id": "pro",
    "name": "Pro",
    "price": {"amount": 20, "interval": "month"},
    "items": [{"feature_id": "messages", "included": 1000}],
}


@dataclass
class OnClock:
    """Customer c1, linked to a Stripe customer on a test clock started at `start`."""

    api: httpx.Client
    stack: LocalStack
    clock_id: str
    stripe_customer: str
    start: int

    def advance(self, days: int) -> None:
        advance_clock(stripe_client(self.stack), self.clock_id, self.start + days * DAY)

    def add_card(self) -> None:
        stripe = stripe_client(self.stack)
        card = stripe.v1.payment_methods.attach("pm_card_visa", {"customer": self.stripe_customer})
        stripe.v1.customers.update(
            self.stripe_customer, {"invoice_settings": {"default_payment_method": card.id}}
        )

    def stripe_subscription(self) -> Any:
        stripe = stripe_client(self.stack)
        listed = stripe.v1.subscriptions.list({"customer": self.stripe_customer, "status": "all"})
        (subscription,) = listed.data
        return subscription

    def held(self) -> list[tuple[str, str]]:
        return [(s["plan_id"], s["status"]) for s in self.customer()["subscriptions"]]

    def customer(self) -> dict[str, Any]:
        answer: dict[str, Any] = self.api.post(
            "/v1/customers.get", json={"customer_id": "c1"}
        ).json()
        return answer


@pytest.fixture
def on_clock(api: httpx.Client, clean_stack: LocalStack) -> OnClock:
    api.post("/v1/features.create", json={"feature_id": "messages", "name": "M", "type": "metered"})
    for plan in (FREE, PRO):
        assert api.post("/v1/plans.create", json=plan).status_code == 200
    stripe = stripe_client(clean_stack)
    start = int(time.time())
    clock = stripe.v1.test_helpers.test_clocks.create({"frozen_time": start})
    linked = stripe.v1.customers.create({"test_clock": clock.id})
    created = api.post(
        "/v1/customers.get_or_create", json={"customer_id": "c1", "stripe_id": linked.id}
    )
    assert created.status_code == 200
    return OnClock(api, clean_stack, clock.id, linked.id, start)


def on_the_portal(on_clock: OnClock, action: str) -> None:
    opened = on_clock.api.post("/v1/billing.open_customer_portal", json={"customer_id": "c1"})
    url = opened.json()["url"]
    subscription = on_clock.stripe_subscription().id
    done = httpx.post(url, data={"action": action, "subscription": subscription})
    assert done.status_code == 200, done.text


def state(on_clock: OnClock) -> dict[str, Any]:
    """What the customer holds, without the ids and times a replay could not change."""
    held = on_clock.customer()
    return {
        "subscriptions": [
            {k: s[k] for k in ("plan_id", "status", "canceled_at", "expires_at", "past_due")}
            for s in held["subscriptions"]
        ],
        "balances": {
            f: (b["granted"], b["usage"], b["remaining"]) for f, b in held["balances"].items()
        },
    }


def replayed_twice_shuffled(on_clock: OnClock) -> None:
    """Every Stripe event of the scenario delivered again, twice each, in a shuffled order,
    as if none had been seen (their claims forgotten), so every handler runs again."""
    table = dynamodb_client(on_clock.stack)
    for item in table_items(on_clock.stack):
        if item["PK"]["S"].startswith("STRIPE_EVT#"):
            table.delete_item(
                TableName=on_clock.stack.config.table_name,
                Key={"PK": item["PK"], "SK": item["SK"]},
            )
    emulator = on_clock.stack.emulator
    assert emulator is not None
    events = [e["id"] for e in emulator.events()] * 2
    random.Random(7).shuffle(events)
    for event_id in events:
        emulator.redeliver(event_id)


def test_cancel_at_period_end_on_the_portal_expires_the_plan_then_and_gives_back_the_default(
    on_clock: OnClock,
) -> None:
    on_clock.add_card()
    assert (
        on_clock.api.post(
            "/v1/billing.attach", json={"customer_id": "c1", "plan_id": "pro"}
        ).json()["invoice"]["status"]
        == "paid"
    )
    assert on_clock.held() == [("pro", "active")]

    on_the_portal(on_clock, "cancel")

    # As after billing.update's cancel_end_of_cycle (and as Autumn shows a cancellation
    # made in Stripe): pro canceling, the group's default plan scheduled for its end.
    pro, free = on_clock.customer()["subscriptions"]
    assert pro["canceled_at"] is not None
    assert pro["expires_at"] == pro["current_period_end"]
    assert (free["plan_id"], free["status"]) == ("free", "scheduled")
    assert free["started_at"] == pro["expires_at"]
    assert on_clock.customer()["balances"]["messages"]["granted"] == 1000

    on_clock.advance(days=32)

    assert on_clock.held() == [("free", "active")]
    assert on_clock.customer()["balances"]["messages"]["granted"] == 100
    assert on_clock.stripe_subscription().status == "canceled"
    after = state(on_clock)

    replayed_twice_shuffled(on_clock)

    assert state(on_clock) == after


def test_a_cancellation_taken_back_on_the_portal_keeps_the_plan_past_the_period(
    on_clock: OnClock,
) -> None:
    on_clock.add_card()
    on_clock.api.post("/v1/billing.attach", json={"customer_id": "c1", "plan_id": "pro"})
    on_the_portal(on_clock, "cancel")
    assert on_clock.held() == [("pro", "active"), ("free", "scheduled")]

    on_the_portal(on_clock, "renew")

    (pro,) = on_clock.customer()["subscriptions"]
    assert (pro["canceled_at"], pro["expires_at"]) == (None, None)
    on_clock.advance(days=32)
    assert on_clock.held() == [("pro", "active")]
    after = state(on_clock)

    replayed_twice_shuffled(on_clock)

    assert state(on_clock) == after


def test_a_trial_without_a_card_ends_into_the_default_plan(on_clock: OnClock) -> None:
    trial = {"duration_length": 7, "duration_type": "day"}
    answer = on_clock.api.post(
        "/v1/billing.attach", json={"customer_id": "c1", "plan_id": "pro", "free_trial": trial}
    ).json()
    assert answer["payment_url"] is None
    assert on_clock.held() == [("pro", "active")]
    assert on_clock.stripe_subscription().status == "trialing"

    on_clock.advance(days=8)

    assert on_clock.held() == [("free", "active")]
    assert on_clock.customer()["balances"]["messages"]["granted"] == 100
    assert on_clock.stripe_subscription().status == "canceled"
    invoices = stripe_client(on_clock.stack).v1.invoices.list(
        {"customer": on_clock.stripe_customer}
    )
    assert all(i.total == 0 for i in invoices.data), "nothing billed"
    after = state(on_clock)

    replayed_twice_shuffled(on_clock)

    assert state(on_clock) == after


def test_a_trial_with_a_card_added_meanwhile_becomes_the_paid_plan(on_clock: OnClock) -> None:
    trial = {"duration_length": 7, "duration_type": "day"}
    monthly = [{"feature_id": "messages", "included": 1000, "reset": {"interval": "month"}}]
    updated = on_clock.api.post("/v1/plans.update", json={"plan_id": "pro", "items": monthly})
    assert updated.status_code == 200, updated.text
    on_clock.api.post(
        "/v1/billing.attach", json={"customer_id": "c1", "plan_id": "pro", "free_trial": trial}
    )
    on_clock.add_card()
    trial_end = on_clock.stripe_subscription().trial_end * 1000
    # As Autumn aligns them: the balances' first reset is the trial's end, not a month on.
    (pro,) = on_clock.customer()["subscriptions"]
    assert pro["trial_ends_at"] == trial_end
    assert on_clock.customer()["balances"]["messages"]["next_reset_at"] == trial_end

    on_clock.advance(days=8)

    assert on_clock.held() == [("pro", "active")]
    converted = on_clock.stripe_subscription()
    assert converted.status == "active"
    (pro,) = on_clock.customer()["subscriptions"]
    # No longer trialing: no trial end shown (Stripe keeps the past one).
    assert pro["trial_ends_at"] is None
    assert pro["past_due"] is False
    assert pro["current_period_start"] == trial_end
    balance = on_clock.customer()["balances"]["messages"]
    assert balance["next_reset_at"] == converted["items"].data[0].current_period_end * 1000


def test_a_subscription_event_of_an_unknown_customer_is_acknowledged_without_a_write(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    stripe = stripe_client(clean_stack)
    product = stripe.v1.products.create({"name": "Elsewhere"})
    price = stripe.v1.prices.create(
        {
            "product": product.id,
            "currency": "usd",
            "unit_amount": 700,
            "recurring": {"interval": "month"},
        }
    )
    stranger = stripe.v1.customers.create({"payment_method": "pm_card_visa"})
    before = table_items(clean_stack)

    subscription = stripe.v1.subscriptions.create(
        {
            "billing_mode": classic_billing(),
            "customer": stranger.id,
            "items": [{"price": price.id}],
            "default_payment_method": stranger.invoice_settings.default_payment_method
            or stripe.v1.payment_methods.list({"customer": stranger.id}).data[0].id,
        }
    )
    stripe.v1.subscriptions.cancel(subscription.id)

    written = [i for i in table_items(clean_stack) if i not in before]
    assert written, "the events were received"
    assert {i["PK"]["S"].split("#")[0] for i in written} == {"STRIPE_EVT"}


def test_the_subscription_selling_a_plan_is_found_behind_a_hundred_newer_ones(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    """A customer whose plan's subscription is older than 100 others (add-ons each bill on
    a subscription of their own): the lookup reads every page, not Stripe's first."""
    stripe = stripe_client(clean_stack)
    product = stripe.v1.products.create({"name": "Many"})
    monthly: Any = {"product": product.id, "currency": "usd", "recurring": {"interval": "month"}}
    wanted = stripe.v1.prices.create(monthly | {"unit_amount": 900})
    other = stripe.v1.prices.create(monthly | {"unit_amount": 100})
    customer = stripe.v1.customers.create({"payment_method": "pm_card_visa"})
    card = stripe.v1.payment_methods.list({"customer": customer.id}).data[0].id
    with clean_stack.stripe_webhooks_paused():
        made = [
            stripe.v1.subscriptions.create(
                {
                    "billing_mode": classic_billing(),
                    "customer": customer.id,
                    "items": [{"price": price.id}],
                    "default_payment_method": card,
                }
            ).id
            for price in [wanted] + [other] * 100
        ]

    found = get_gateway().subscriptions.selling(customer.id, frozenset({wanted.id}))

    assert found is not None
    assert found.id == made[0]


def test_the_application_is_told_of_each_cancel_renew_expiry_and_default_plan(
    on_clock: OnClock,
) -> None:
    receiver = WebhookReceiver()
    try:
        created = on_clock.api.post(
            "/v1/webhooks.create",
            json={"id": "app", "url": receiver.url, "events": ["customer.products.updated"]},
        )
        secret = created.json()["secret"]
        on_clock.add_card()
        on_clock.api.post("/v1/billing.attach", json={"customer_id": "c1", "plan_id": "pro"})
        on_the_portal(on_clock, "cancel")
        on_the_portal(on_clock, "renew")
        update = {"customer_id": "c1", "plan_id": "pro", "cancel_action": "cancel_end_of_cycle"}
        assert on_clock.api.post("/v1/billing.update", json=update).status_code == 200

        on_clock.advance(days=32)

        # The customer (and its default plan, "new" "free") was made before the endpoint:
        # whether that event reaches it depends on when the queue runs, so it is not asked.
        wanted = [
            ("upgrade", "pro"),
            ("cancel", "pro"),
            ("renew", "pro"),
            ("cancel", "pro"),
            ("expired", "pro"),
            ("new", "free"),
        ]

        def scenarios_told() -> list[tuple[str, str]]:
            told = [verified(secret, post)["data"] for post in list(receiver.received)]
            return [(d["scenario"], d["updated_product"]["id"]) for d in told]

        # Waits for the last one: the application's webhooks go out from a queue, so a count
        # alone can be reached before the expiry's "new free" (with the first one counted).
        wait_for(lambda: scenarios_told()[-len(wanted) :] == wanted)
        scenarios = scenarios_told()
        assert scenarios[-len(wanted) :] == wanted
        assert scenarios[: -len(wanted)] in ([], [("new", "free")])
    finally:
        receiver.stop()


class RacedReads:
    """Stripe's subscriptions as a handler sees them when a newer change lands between its
    read of Stripe and its write: the first read returns the subscription as it was, and
    meanwhile `change` happens (and its own webhook is handled in full)."""

    def __init__(self, subscriptions: Subscriptions, change: Callable[[], None]) -> None:
        self._subscriptions = subscriptions
        self._change: Callable[[], None] | None = change

    def retrieve(self, subscription_id: str) -> StripeSubscription | None:
        read = self._subscriptions.retrieve(subscription_id)
        if self._change is not None:
            change, self._change = self._change, None
            change()
        return read

    def __getattr__(self, name: str) -> Any:
        return getattr(self._subscriptions, name)


def raced_gateway(change: Callable[[], None]) -> StripeGateway:
    """The real gateway, but for its subscriptions' reads (see `RacedReads`)."""
    raced = copy.copy(get_gateway())
    raced.subscriptions = RacedReads(raced.subscriptions, change)  # type: ignore[assignment]
    return raced


def test_a_delivery_racing_a_newer_change_never_rolls_the_subscription_back(
    on_clock: OnClock,
) -> None:
    on_clock.add_card()
    on_clock.api.post("/v1/billing.attach", json={"customer_id": "c1", "plan_id": "pro"})
    subscription_id = on_clock.stripe_subscription().id
    emulator = on_clock.stack.emulator
    assert emulator is not None
    created = emulator.events("customer.subscription.created")[-1]["created"]
    raced = raced_gateway(lambda: on_the_portal(on_clock, "cancel"))

    # customer.subscription.created handled (again) while the customer cancels on the portal.
    sync_subscription(subscription_id, stripe=lambda: raced, event_created=created)

    pro, free = on_clock.customer()["subscriptions"]
    assert pro["canceled_at"] is not None, "the cancellation stays"
    assert pro["expires_at"] == pro["current_period_end"]
    assert (free["plan_id"], free["status"]) == ("free", "scheduled")


def test_an_event_arriving_before_the_payment_is_granted_is_retried_not_lost(
    on_clock: OnClock,
) -> None:
    """Stripe's order is not guaranteed: here the subscription's events reach us before the
    checkout's, and the customer had cancelled meanwhile."""
    emulator = on_clock.stack.emulator
    assert emulator is not None
    with on_clock.stack.stripe_webhooks_paused():
        answer = on_clock.api.post(
            "/v1/billing.attach",
            json={"customer_id": "c1", "plan_id": "pro", "success_url": "https://app.test/ok"},
        ).json()
        paid = httpx.post(answer["payment_url"], data={"card_number": "4242424242424242"})
        assert paid.status_code == 303
        subscription = on_clock.stripe_subscription()
        stripe_client(on_clock.stack).v1.subscriptions.update(
            subscription.id, {"cancel_at_period_end": True}
        )
    assert on_clock.held() == [("free", "active")], "nothing heard from Stripe yet"
    (updated,) = emulator.events("customer.subscription.updated")

    emulator.redeliver(updated["id"])

    (attempt,) = [a for a in emulator.deliveries() if a["event_id"] == updated["id"]][-1:]
    assert attempt["status"] == 503, "answered so that Stripe delivers it again"
    assert on_clock.held() == [("free", "active")]

    for event in emulator.events():
        if event["type"] != "customer.subscription.updated":
            emulator.redeliver(event["id"])
    emulator.redeliver(updated["id"])  # Stripe's next attempt

    pro, free = on_clock.customer()["subscriptions"]
    assert pro["plan_id"] == "pro"
    assert pro["canceled_at"] is not None, "the cancellation was not lost"
    # A cancellation set in Stripe itself schedules the default plan for its end.
    assert (free["plan_id"], free["status"]) == ("free", "scheduled")
