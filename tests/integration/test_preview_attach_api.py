"""billing.preview_attach over HTTP against the local stack: what billing.attach would do
with the same request and what it would cost, now and next cycle, changing nothing."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import httpx
import pytest

from local.stack import LocalStack
from tests.conftest import stripe_client, table_items
from tests.integration.test_attach_api import (  # noqa: F401 (fixtures)
    SEATS,
    TEAM,
    attach,
    catalog,
    customer,
    webhooks,
    with_card_on_file,
)

DAY_MS = 86_400_000


def preview(api: httpx.Client, **body: Any) -> httpx.Response:
    return api.post("/v1/billing.preview_attach", json={"customer_id": "c1", **body})


def money(value: float | int) -> Decimal:
    return Decimal(str(value))


@pytest.fixture
def team(catalog: httpx.Client) -> httpx.Client:  # noqa: F811
    catalog.post("/v1/features.create", json=SEATS)
    messages_in_arrears = {
        "feature_id": "messages",
        "included": 100,
        "price": {"amount": 0.5, "billing_method": "usage_based", "interval": "month"},
    }
    plan = {**TEAM, "items": [*TEAM["items"], messages_in_arrears]}
    assert catalog.post("/v1/plans.create", json=plan).status_code == 200
    return catalog


def test_a_paid_plan_shows_its_price_now_and_next_cycle_and_changes_nothing(
    catalog: httpx.Client,  # noqa: F811
    clean_stack: LocalStack,
) -> None:
    before = table_items(clean_stack)
    started = int(time.time() * 1000)

    response = preview(catalog, plan_id="pro", success_url="https://app.example.com/ok")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["customer_id"] == "c1"
    (line,) = body["line_items"]
    assert (line["plan_id"], line["feature_id"], line["total"], line["quantity"]) == (
        "pro",
        None,
        20,
        1,
    )
    assert (body["subtotal"], body["total"], body["currency"]) == (20, 20, "usd")
    assert body["redirect_to_checkout"] is True, "no card on file: attach would send to Checkout"
    assert body["checkout_type"] == "stripe_checkout"
    assert [(i["plan_id"], i["effective_at"]) for i in body["incoming"]] == [("pro", None)]
    assert (body["incoming"][0]["plan"]["id"], body["incoming"][0]["plan"]["name"]) == (
        "pro",
        "Pro",
    )
    assert body["outgoing"] == []
    cycle = body["next_cycle"]
    assert cycle["total"] == 20
    assert started + 28 * DAY_MS <= cycle["starts_at"] <= started + 32 * DAY_MS
    assert line["period"]["end"] == cycle["starts_at"]
    # Nothing changed: no Stripe customer, no purchase, no lock, no idempotency record.
    assert table_items(clean_stack) == before
    assert stripe_client(clean_stack).v1.customers.list().data == []


def test_a_free_plan_is_nothing_due_and_no_stripe_call(
    catalog: httpx.Client,  # noqa: F811
    clean_stack: LocalStack,
) -> None:
    assert clean_stack.emulator is not None
    stripe_calls = clean_stack.emulator.requests_made("*", "/v1/")

    body = preview(catalog, plan_id="free").json()

    assert (body["line_items"], body["total"], body["redirect_to_checkout"]) == ([], 0, False)
    assert "next_cycle" not in body
    assert [i["plan_id"] for i in body["incoming"]] == ["free"]
    assert clean_stack.emulator.requests_made("*", "/v1/") == stripe_calls


def test_an_upgrade_shows_the_proration_the_attach_then_charges(
    catalog: httpx.Client,  # noqa: F811
    webhooks: LocalStack,  # noqa: F811
) -> None:
    stripe_customer = with_card_on_file(catalog, webhooks, "pm_card_visa")
    attach(catalog, plan_id="pro")
    stripe = stripe_client(webhooks)
    invoices_before = stripe.v1.invoices.list({"customer": stripe_customer}).data
    (subscription,) = stripe.v1.subscriptions.list({"customer": stripe_customer}).data
    period_end_ms = subscription["items"].data[0].current_period_end * 1000

    body = preview(catalog, plan_id="premium").json()

    assert body["redirect_to_checkout"] is False, "the subscription's card pays"
    credit = [line for line in body["line_items"] if line["total"] < 0]
    charge = [line for line in body["line_items"] if line["total"] > 0]
    assert [line["plan_id"] for line in credit] == ["pro"], "unused time of pro credited"
    assert [line["plan_id"] for line in charge] == ["premium"]
    assert 0 < body["total"] <= 30
    assert money(body["total"]) == sum(money(line["total"]) for line in body["line_items"])
    assert [(o["plan_id"], o["effective_at"] is not None) for o in body["outgoing"]] == [
        ("pro", True)
    ]
    assert [(i["plan_id"], i["effective_at"]) for i in body["incoming"]] == [("premium", None)]
    assert (body["next_cycle"]["starts_at"], body["next_cycle"]["total"]) == (period_end_ms, 50)
    assert stripe.v1.invoices.list({"customer": stripe_customer}).data == invoices_before
    assert [s["plan_id"] for s in customer(catalog)["subscriptions"]] == ["pro"]

    charged = attach(catalog, plan_id="premium").json()

    # The same second's proration, give or take a cent of Stripe's per-line rounding.
    assert abs(money(charged["invoice"]["total"]) - money(body["total"])) <= Decimal("0.01")


def test_a_downgrade_is_nothing_now_and_the_cheaper_plan_from_the_period_end(
    catalog: httpx.Client,  # noqa: F811
    webhooks: LocalStack,  # noqa: F811
) -> None:
    stripe_customer = with_card_on_file(catalog, webhooks, "pm_card_visa")
    attach(catalog, plan_id="premium")
    (subscription,) = (
        stripe_client(webhooks).v1.subscriptions.list({"customer": stripe_customer}).data
    )
    period_end_ms = subscription["items"].data[0].current_period_end * 1000

    body = preview(catalog, plan_id="pro").json()

    assert (body["line_items"], body["total"]) == ([], 0)
    assert [(i["plan_id"], i["effective_at"]) for i in body["incoming"]] == [("pro", period_end_ms)]
    assert [(o["plan_id"], o["effective_at"]) for o in body["outgoing"]] == [
        ("premium", period_end_ms)
    ]
    assert (body["next_cycle"]["starts_at"], body["next_cycle"]["total"]) == (period_end_ms, 20)
    assert stripe_client(webhooks).v1.subscription_schedules.list().data == []
    held = customer(catalog)["subscriptions"]
    assert [(s["plan_id"], s["status"]) for s in held] == [("premium", "active")]


def test_a_move_to_the_free_plan_is_nothing_due_and_free_from_the_period_end(
    catalog: httpx.Client,  # noqa: F811
    webhooks: LocalStack,  # noqa: F811
) -> None:
    attach(catalog, plan_id="free")
    with_card_on_file(catalog, webhooks, "pm_card_visa")
    attach(catalog, plan_id="pro")
    period_end_ms = customer(catalog)["subscriptions"][0]["current_period_end"]

    response = preview(catalog, plan_id="free")

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["line_items"], body["total"]) == ([], 0)
    assert [(i["plan_id"], i["effective_at"]) for i in body["incoming"]] == [
        ("free", period_end_ms)
    ]
    assert [(o["plan_id"], o["effective_at"]) for o in body["outgoing"]] == [("pro", period_end_ms)]
    held = customer(catalog)["subscriptions"]
    assert [(s["plan_id"], s["status"]) for s in held] == [("pro", "active")], "nothing changed"


def test_prepaid_quantities_are_priced_in_packages_and_usage_billed_later(
    team: httpx.Client,
) -> None:
    body = preview(
        team, plan_id="team", feature_quantities=[{"feature_id": "seats", "quantity": 13}]
    ).json()

    # 13 seats, 2 included: 11 bought, in 3 packages of 5 (8 each) on top of the base 30.
    assert body["total"] == 54
    lines = {line["feature_id"]: line for line in body["line_items"]}
    assert (lines[None]["total"], lines["seats"]["total"], lines["seats"]["quantity"]) == (
        30,
        24,
        15,
    )
    (incoming,) = body["incoming"]
    assert incoming["feature_quantities"] == [{"feature_id": "seats", "quantity": 17}]
    usage = body["next_cycle"]["usage_line_items"]
    assert [(u["plan_id"], u["feature_id"]) for u in usage] == [("team", "messages")]
    assert body["next_cycle"]["total"] == 54


def test_a_trial_is_nothing_due_now_and_the_price_once_it_ends(
    catalog: httpx.Client,  # noqa: F811
) -> None:
    started = int(time.time() * 1000)

    body = preview(
        catalog, plan_id="pro", free_trial={"duration_length": 14, "duration_type": "day"}
    ).json()

    assert (body["line_items"], body["total"], body["redirect_to_checkout"]) == ([], 0, False)
    cycle = body["next_cycle"]
    # A trial ends on a whole second, as Stripe keeps it.
    earliest = started // 1000 * 1000 + 14 * DAY_MS
    assert earliest <= cycle["starts_at"] <= int(time.time() * 1000) + 14 * DAY_MS
    assert cycle["total"] == 20


def test_a_one_off_top_up_is_its_price_once_and_no_next_cycle(
    catalog: httpx.Client,  # noqa: F811
    webhooks: LocalStack,  # noqa: F811
) -> None:
    with_card_on_file(catalog, webhooks, "pm_card_visa")

    body = preview(catalog, plan_id="top_up").json()

    assert ([line["total"] for line in body["line_items"]], body["total"]) == ([5], 5)
    assert "period" not in body["line_items"][0]
    assert "next_cycle" not in body
    assert body["redirect_to_checkout"] is False, "the card on file pays"


def test_an_add_on_is_its_own_price_and_ends_nothing(
    catalog: httpx.Client,  # noqa: F811
    webhooks: LocalStack,  # noqa: F811
) -> None:
    support = {
        "plan_id": "support",
        "name": "Support",
        "add_on": True,
        "price": {"amount": 10, "interval": "month"},
        "items": [{"feature_id": "messages", "included": 50}],
    }
    assert catalog.post("/v1/plans.create", json=support).status_code == 200
    with_card_on_file(catalog, webhooks, "pm_card_visa")
    attach(catalog, plan_id="pro")

    body = preview(catalog, plan_id="support").json()

    assert (body["total"], body["outgoing"]) == (10, [])
    assert body["next_cycle"]["total"] == 10


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"plan_id": "ghost"}, 404, "product_not_found"),
        ({"plan_id": "free", "customer_id": "nobody"}, 404, "customer_not_found"),
        ({"plan_id": "free", "redirect_mode": "sometimes"}, 400, "invalid_inputs"),
        (
            {"plan_id": "pro", "feature_quantities": [{"feature_id": "messages", "quantity": 3}]},
            400,
            "invalid_inputs",
        ),
        ({"plan_id": 7}, 400, "invalid_inputs"),
    ],
)
def test_bad_previews_are_refused_and_change_nothing(
    catalog: httpx.Client,  # noqa: F811
    clean_stack: LocalStack,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    before = table_items(clean_stack)

    response = preview(catalog, **body)

    assert response.status_code == status
    assert response.json()["code"] == code
    assert {"code", "message"} <= response.json().keys()
    assert table_items(clean_stack) == before


def test_the_plan_already_held_is_a_409_as_attach_answers(
    catalog: httpx.Client,  # noqa: F811
) -> None:
    attach(catalog, plan_id="free")

    response = preview(catalog, plan_id="free")

    assert response.status_code == 409
    assert response.json()["code"] == "plan_already_attached"


def test_an_idempotency_key_records_nothing_for_a_preview(
    catalog: httpx.Client,  # noqa: F811
    clean_stack: LocalStack,
) -> None:
    before = table_items(clean_stack)

    response = catalog.post(
        "/v1/billing.preview_attach",
        json={"customer_id": "c1", "plan_id": "pro"},
        headers={"Idempotency-Key": "preview-1"},
    )

    assert response.status_code == 200
    assert table_items(clean_stack) == before


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"[1, 2]", b'{"customer_id": NaN}', b"\xff\xfe", b'{"customer_id": 1e999}'],
)
def test_an_unreadable_body_is_a_400_and_changes_nothing(
    catalog: httpx.Client,  # noqa: F811
    clean_stack: LocalStack,
    raw: bytes,
) -> None:
    before = table_items(clean_stack)

    response = catalog.post(
        "/v1/billing.preview_attach", content=raw, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_inputs"
    assert table_items(clean_stack) == before
