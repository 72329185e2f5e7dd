"""billing.attach over HTTP against the local stack (the Stripe emulator behind it)."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest

from billing.store import keys
from local.stack import LocalStack
from tests.conftest import dynamodb_client, stripe_client, table_items
from tests.stripe_clocks import advance as advance_clock

SUCCESS_URL = "https://app.example.com/welcome"

FREE = {
    "plan_id": "free",
    "name": "Free",
    "items": [{"feature_id": "messages", "included": 100}, {"feature_id": "sso"}],
}
PRO = {
    "plan_id": "pro",
    "name": "Pro",
    "price": {"amount": 20, "interval": "month"},
    "items": [{"feature_id": "messages", "included": 1000}, {"feature_id": "sso"}],
}
PREMIUM = {
    "plan_id": "premium",
    "name": "Premium",
    "price": {"amount": 50, "interval": "month"},
    "items": [{"feature_id": "messages", "included": 5000}, {"feature_id": "sso"}],
}
TOP_UP = {
    "plan_id": "top_up",
    "name": "Top-up",
    "add_on": True,
    "price": {"amount": 5, "interval": "one_off"},
    "items": [{"feature_id": "messages", "included": 500}],
}


SEATS = {"feature_id": "seats", "name": "Seats", "type": "metered", "consumable": False}
# Seats sold in packages of 5 (8 each) above 2 included, on a base of 30 a month.
TEAM = {
    "plan_id": "team",
    "name": "Team",
    "group": "team",
    "price": {"amount": 30, "interval": "month"},
    "items": [
        {
            "feature_id": "seats",
            "included": 2,
            "price": {
                "amount": 8,
                "billing_units": 5,
                "billing_method": "prepaid",
                "interval": "month",
            },
        }
    ],
}


@pytest.fixture
def catalog(api: httpx.Client) -> httpx.Client:
    for body in (
        {"feature_id": "messages", "name": "Messages", "type": "metered"},
        {"feature_id": "sso", "name": "SSO", "type": "boolean"},
    ):
        assert api.post("/v1/features.create", json=body).status_code == 200
    for plan in (FREE, PRO, PREMIUM, TOP_UP):
        assert api.post("/v1/plans.create", json=plan).status_code == 200, plan
    assert api.post("/v1/customers.get_or_create", json={"customer_id": "c1"}).status_code == 200
    return api


def attach(api: httpx.Client, **body: Any) -> httpx.Response:
    return api.post("/v1/billing.attach", json={"customer_id": "c1", **body})


def customer(api: httpx.Client) -> dict[str, Any]:
    answer: dict[str, Any] = api.post("/v1/customers.get", json={"customer_id": "c1"}).json()
    return answer


def test_a_free_plan_is_granted_at_once(catalog: httpx.Client) -> None:
    response = attach(catalog, plan_id="free")

    assert response.status_code == 200
    assert response.json() == {"customer_id": "c1", "payment_url": None}
    held = customer(catalog)
    assert [s["plan_id"] for s in held["subscriptions"]] == ["free"]
    assert held["balances"]["messages"]["granted"] == 100
    assert "sso" in held["flags"]
    assert held["stripe_id"] is None, "a free plan needs no Stripe customer"


def test_attaching_a_plan_already_held_is_a_409(catalog: httpx.Client) -> None:
    attach(catalog, plan_id="free")

    response = attach(catalog, plan_id="free")

    assert response.status_code == 409
    assert response.json()["code"] == "plan_already_attached"
    assert len(customer(catalog)["subscriptions"]) == 1


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
        ({"plan_id": "pro", "success_url": "not a url"}, 400, "invalid_inputs"),
    ],
)
def test_bad_attach_requests_are_refused_and_change_nothing(
    catalog: httpx.Client, body: dict[str, Any], status: int, code: str
) -> None:
    response = attach(catalog, **body)

    assert response.status_code == status
    assert response.json()["code"] == code
    assert customer(catalog)["subscriptions"] == []


def test_an_attach_while_another_billing_change_runs_is_a_423_and_changes_nothing(
    catalog: httpx.Client, clean_stack: LocalStack
) -> None:
    lock = {"PK": {"S": keys.billing_lock_pk("c1")}, "SK": {"S": "LOCK"}}
    running_until = int(time.time() * 1000) + 60_000
    dynamodb_client(clean_stack).put_item(
        TableName=clean_stack.config.table_name,
        Item={**lock, "holder": {"S": "another call"}, "until": {"N": str(running_until)}},
    )

    refused = attach(catalog, plan_id="free")

    assert refused.status_code == 423
    assert refused.json()["code"] == "billing_in_progress"
    assert customer(catalog)["subscriptions"] == []
    # A holder that crashed blocks the customer only until its lease ends.
    dynamodb_client(clean_stack).put_item(
        TableName=clean_stack.config.table_name,
        Item={**lock, "holder": {"S": "a crashed call"}, "until": {"N": "1"}},
    )
    assert attach(catalog, plan_id="free").status_code == 200


def test_concurrent_attaches_for_one_customer_grant_the_plan_once(
    catalog: httpx.Client, clean_stack: LocalStack
) -> None:
    statuses: list[int] = []
    start = threading.Barrier(8)

    def one() -> None:
        with httpx.Client(base_url=catalog.base_url, headers=catalog.headers) as client:
            start.wait()
            statuses.append(attach(client, plan_id="free").status_code)

    threads = [threading.Thread(target=one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses.count(200) == 1, statuses
    # The others ran into the lock (423) or, once the plan was granted, into it (409).
    assert set(statuses) <= {200, 409, 423}
    assert len(customer(catalog)["subscriptions"]) == 1
    lock_items = [
        item for item in table_items(clean_stack) if item["PK"]["S"].startswith("BILLING_LOCK#")
    ]
    assert lock_items == [], "every call gives the lock back"


@pytest.fixture
def webhooks(clean_stack: LocalStack) -> LocalStack:
    """The stack whose emulator delivers its events to the stack's webhook route, signed with
    the secret the route verifies (delivery completes before the request that caused it)."""
    assert clean_stack.emulator is not None
    return clean_stack


# Paying a page runs the webhooks it causes before it answers: slow on a loaded machine.
PAGE_TIMEOUT_S = 120


def pay_on_checkout_page(url: str, card_number: str) -> httpx.Response:
    page = httpx.get(url, timeout=PAGE_TIMEOUT_S)
    assert page.status_code == 200
    assert "name='card_number'" in page.text
    return httpx.post(url, data={"card_number": card_number}, timeout=PAGE_TIMEOUT_S)


def test_a_one_off_top_up_is_paid_on_the_checkout_page_then_granted(
    catalog: httpx.Client, webhooks: LocalStack
) -> None:
    answer = attach(catalog, plan_id="top_up", success_url=SUCCESS_URL).json()
    assert customer(catalog)["purchases"] == []

    paid = pay_on_checkout_page(answer["payment_url"], "4242 4242 4242 4242")

    assert paid.status_code == 303, "Stripe sends the customer back to success_url"
    assert paid.headers["location"].startswith(SUCCESS_URL)
    held = customer(catalog)
    assert [p["plan_id"] for p in held["purchases"]] == ["top_up"]
    assert held["balances"]["messages"]["granted"] == 500


def test_a_declined_card_on_the_checkout_page_grants_nothing(
    catalog: httpx.Client, webhooks: LocalStack
) -> None:
    answer = attach(catalog, plan_id="top_up", success_url=SUCCESS_URL).json()

    declined = pay_on_checkout_page(answer["payment_url"], "4000 0000 0000 0002")

    assert declined.status_code == 402
    held = customer(catalog)
    assert held["purchases"] == []
    assert "messages" not in held["balances"]


def test_a_second_top_up_is_charged_to_the_card_kept_from_checkout(
    catalog: httpx.Client, webhooks: LocalStack
) -> None:
    first = attach(catalog, plan_id="top_up", success_url=SUCCESS_URL).json()
    pay_on_checkout_page(first["payment_url"], "4242424242424242")

    second = attach(catalog, plan_id="top_up")

    assert second.status_code == 200
    answer = second.json()
    assert answer["payment_url"] is None
    assert "required_action" not in answer
    assert answer["invoice"]["status"] == "paid"
    assert answer["invoice"]["total"] == 5
    assert answer["invoice"]["currency"] == "usd"
    held = customer(catalog)
    assert [p["plan_id"] for p in held["purchases"]] == ["top_up", "top_up"]
    assert held["balances"]["messages"]["granted"] == 1000
    invoices = stripe_client(webhooks).v1.invoices.list({"customer": held["stripe_id"]}).data
    # The checkout's own (post-payment) invoice, then the card charge's: one each.
    assert [(i.status, i.total) for i in invoices] == [("paid", 500), ("paid", 500)]
    assert invoices[0].id == answer["invoice"]["stripe_id"]


def with_card_on_file(api: httpx.Client, stack: LocalStack, payment_method: str) -> str:
    """Customer c1 linked to a Stripe customer whose default card is `payment_method` (one
    of Stripe's test ids); returns the Stripe customer's id."""
    linked = api.post(
        "/v1/customers.get_or_create", json={"customer_id": "c1", "create_in_stripe": True}
    ).json()
    stripe = stripe_client(stack)
    card = stripe.v1.payment_methods.attach(payment_method, {"customer": linked["stripe_id"]})
    stripe.v1.customers.update(
        linked["stripe_id"], {"invoice_settings": {"default_payment_method": card.id}}
    )
    return str(linked["stripe_id"])


def test_a_declined_card_on_file_answers_payment_failed_and_grants_nothing(
    catalog: httpx.Client, webhooks: LocalStack
) -> None:
    with_card_on_file(catalog, webhooks, "pm_card_chargeCustomerFail")

    response = attach(catalog, plan_id="top_up")

    assert response.status_code == 200
    answer = response.json()
    assert answer["required_action"]["code"] == "payment_failed"
    assert answer["payment_url"] == answer["invoice"]["hosted_invoice_url"] is not None
    assert answer["invoice"]["status"] == "open"
    held = customer(catalog)
    assert held["purchases"] == []
    assert "messages" not in held["balances"]


def test_a_card_needing_authentication_is_granted_once_authenticated_on_the_invoice_page(
    catalog: httpx.Client, webhooks: LocalStack
) -> None:
    with_card_on_file(catalog, webhooks, "pm_card_authenticationRequired")

    answer = attach(catalog, plan_id="top_up").json()

    assert answer["required_action"]["code"] == "3ds_required"
    assert answer["payment_url"] == answer["invoice"]["hosted_invoice_url"]
    assert customer(catalog)["purchases"] == []

    page = httpx.get(answer["payment_url"], timeout=PAGE_TIMEOUT_S)
    assert "authenticate" in page.text
    httpx.post(answer["payment_url"], data={"action": "authenticate"}, timeout=PAGE_TIMEOUT_S)

    held = customer(catalog)
    assert [p["plan_id"] for p in held["purchases"]] == ["top_up"]
    assert held["balances"]["messages"]["granted"] == 500


@pytest.mark.parametrize(
    ("method", "step", "status", "times"),
    [
        ("GET", "/v1/customers", 500, 3),  # the card on file
        ("POST", "/v1/invoices", 503, 3),  # the invoice (and its payment)
        ("POST", "/v1/invoiceitems", 429, 1),  # its line (the SDK does not retry a 429)
        ("POST", "/v1/invoices/", 500, 3),  # paying it
    ],
)
def test_a_stripe_failure_answers_502_grants_nothing_and_the_retry_completes_the_purchase(
    catalog: httpx.Client,
    webhooks: LocalStack,
    method: str,
    step: str,
    status: int,
    times: int,
) -> None:
    with_card_on_file(catalog, webhooks, "pm_card_visa")
    emulator = webhooks.emulator
    assert emulator is not None
    # Past the SDK's own retries (1 attempt + 2 for a 5xx): the caller sees it.
    emulator.fail_next(method, step, status=status, times=times)

    failed = attach(catalog, plan_id="top_up", success_url=SUCCESS_URL)

    assert failed.status_code == 502
    assert failed.json()["code"] == "stripe_error"
    assert customer(catalog)["purchases"] == []

    retried = attach(catalog, plan_id="top_up", success_url=SUCCESS_URL)

    assert retried.status_code == 200
    assert retried.json()["invoice"]["status"] == "paid"
    held = customer(catalog)
    assert [p["plan_id"] for p in held["purchases"]] == ["top_up"]
    invoices = stripe_client(webhooks).v1.invoices.list({"customer": held["stripe_id"]}).data
    assert [i.status for i in invoices] == ["paid"], "one invoice, charged once"
    intents = stripe_client(webhooks).v1.payment_intents.list({"customer": held["stripe_id"]})
    assert [i.status for i in intents.data] == ["succeeded"]


@pytest.mark.parametrize(
    ("method", "step", "status", "times"),
    [
        ("GET", "/v1/customers", 500, 3),  # the card on file
        ("POST", "/v1/subscriptions", 503, 3),  # the subscription (incomplete)
        ("POST", "/v1/invoices/", 500, 3),  # paying its first invoice
        ("GET", "/v1/invoices/", 502, 3),  # reading the paid invoice back
    ],
)
def test_a_stripe_failure_at_any_step_of_a_subscription_ends_in_one_subscription_and_one_charge(
    catalog: httpx.Client,
    webhooks: LocalStack,
    method: str,
    step: str,
    status: int,
    times: int,
) -> None:
    stripe_customer = with_card_on_file(catalog, webhooks, "pm_card_visa")
    emulator = webhooks.emulator
    assert emulator is not None
    emulator.fail_next(method, step, status=status, times=times)

    with webhooks.stripe_webhooks_paused():  # the faults are for the attach's own calls
        failed = attach(catalog, plan_id="pro")
    ungranted = customer(catalog)["subscriptions"]
    retried = attach(catalog, plan_id="pro")

    assert failed.status_code == 502, failed.text
    assert failed.json()["code"] == "stripe_error"
    assert ungranted == []
    assert retried.status_code == 200, retried.text
    assert [s["plan_id"] for s in customer(catalog)["subscriptions"]] == ["pro"]
    stripe = stripe_client(webhooks)
    subscriptions = stripe.v1.subscriptions.list({"customer": stripe_customer}).data
    assert [s.status for s in subscriptions] == ["active"], "one subscription"
    invoices = stripe.v1.invoices.list({"customer": stripe_customer}).data
    assert [(i.status, i.total) for i in invoices] == [("paid", 2000)], "charged once"


def test_a_paid_plan_with_a_card_on_file_is_one_paid_invoice_and_granted(
    catalog: httpx.Client, webhooks: LocalStack
) -> None:
    attach(catalog, plan_id="free")
    stripe_customer = with_card_on_file(catalog, webhooks, "pm_card_visa")

    response = attach(catalog, plan_id="pro")

    assert response.status_code == 200
    answer = response.json()
    assert answer["payment_url"] is None
    assert "required_action" not in answer
    assert (answer["invoice"]["status"], answer["invoice"]["total"]) == ("paid", 20)
    held = customer(catalog)
    assert [s["plan_id"] for s in held["subscriptions"]] == ["pro"], "free was left"
    assert held["balances"]["messages"]["granted"] == 1000
    stripe = stripe_client(webhooks)
    subscriptions = stripe.v1.subscriptions.list({"customer": stripe_customer}).data
    assert [s.status for s in subscriptions] == ["active"]
    invoices = stripe.v1.invoices.list({"customer": stripe_customer}).data
    assert [(i.status, i.total) for i in invoices] == [("paid", 2000)]


def test_a_paid_plan_declined_on_file_grants_nothing_until_paid_on_the_invoice_page(
    catalog: httpx.Client, webhooks: LocalStack
) -> None:
    stripe_customer = with_card_on_file(catalog, webhooks, "pm_card_chargeCustomerFail")

    answer = attach(catalog, plan_id="pro").json()

    # As Autumn answers a decline: the hosted invoice's page, where another card pays it.
    assert answer["required_action"]["code"] == "payment_failed"
    assert answer["payment_url"] == answer["invoice"]["hosted_invoice_url"] is not None
    assert customer(catalog)["subscriptions"] == []

    paid = httpx.post(
        answer["payment_url"], data={"card_number": "4242424242424242"}, timeout=PAGE_TIMEOUT_S
    )

    assert paid.status_code < 400, paid.text
    held = customer(catalog)
    assert [s["plan_id"] for s in held["subscriptions"]] == ["pro"]
    assert held["balances"]["messages"]["granted"] == 1000
    stripe = stripe_client(webhooks)
    (subscription,) = stripe.v1.subscriptions.list({"customer": stripe_customer}).data
    assert subscription.status == "active"


def test_a_paid_plan_needing_authentication_is_granted_once_authenticated(
    catalog: httpx.Client, webhooks: LocalStack
) -> None:
    with_card_on_file(catalog, webhooks, "pm_card_authenticationRequired")

    answer = attach(catalog, plan_id="pro").json()
    assert answer["required_action"]["code"] == "3ds_required"
    assert customer(catalog)["subscriptions"] == []

    httpx.post(answer["payment_url"], data={"action": "authenticate"}, timeout=PAGE_TIMEOUT_S)

    assert [s["plan_id"] for s in customer(catalog)["subscriptions"]] == ["pro"]


def test_a_trial_without_card_is_granted_at_once_with_nothing_charged(
    catalog: httpx.Client, webhooks: LocalStack
) -> None:
    trial = {"duration_length": 14, "duration_type": "day"}

    answer = attach(catalog, plan_id="pro", free_trial=trial).json()

    assert answer["payment_url"] is None
    (held,) = customer(catalog)["subscriptions"]
    assert held["plan_id"] == "pro"
    assert held["trial_ends_at"] is not None
    subscriptions = stripe_client(webhooks).v1.subscriptions.list().data
    assert [s.status for s in subscriptions] == ["trialing"]


def test_a_paid_plan_without_a_card_answers_a_checkout_url_and_grants_nothing(
    catalog: httpx.Client, clean_stack: LocalStack
) -> None:
    response = attach(catalog, plan_id="pro", success_url=SUCCESS_URL)

    assert response.status_code == 200
    answer = response.json()
    assert answer["customer_id"] == "c1"
    assert answer["payment_url"].startswith("http")
    held = customer(catalog)
    assert held["subscriptions"] == []
    assert "messages" not in held["balances"]
    sessions = stripe_client(clean_stack).v1.checkout.sessions.list().data
    assert [s.url for s in sessions] == [answer["payment_url"]]
    assert sessions[0].customer == held["stripe_id"]


def test_the_same_attach_retried_makes_one_checkout_session(
    catalog: httpx.Client, clean_stack: LocalStack
) -> None:
    keyed = [
        catalog.post(
            "/v1/billing.attach",
            json={"customer_id": "c1", "plan_id": "pro", "success_url": SUCCESS_URL},
            headers={"Idempotency-Key": "attach-pro-1"},
        )
        for _ in range(10)
    ]
    unkeyed = attach(catalog, plan_id="pro", success_url=SUCCESS_URL)

    urls = {r.json()["payment_url"] for r in [*keyed, unkeyed]}
    assert len(urls) == 1
    assert len(stripe_client(clean_stack).v1.checkout.sessions.list().data) == 1


def test_concurrent_attaches_for_one_customer_let_one_proceed(
    catalog: httpx.Client, clean_stack: LocalStack
) -> None:
    statuses: list[int] = []
    start = threading.Barrier(10)

    def one() -> None:
        with httpx.Client(base_url=str(catalog.base_url), headers=catalog.headers) as client:
            start.wait()
            statuses.append(attach(client, plan_id="pro", success_url=SUCCESS_URL).status_code)

    threads = [threading.Thread(target=one) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert 200 in statuses
    assert set(statuses) <= {200, 423}
    assert statuses.count(423) >= 1
    assert len(stripe_client(clean_stack).v1.checkout.sessions.list().data) == 1


def test_an_upgrade_mid_period_is_prorated_on_one_invoice_and_applies_at_once(
    catalog: httpx.Client, webhooks: LocalStack
) -> None:
    stripe_customer = with_card_on_file(catalog, webhooks, "pm_card_visa")
    attach(catalog, plan_id="pro")
    catalog.post("/v1/balances.track", json={"customer_id": "c1", "feature_id": "messages"})

    answer = attach(catalog, plan_id="premium").json()

    assert "required_action" not in answer
    assert answer["invoice"]["status"] == "paid"
    # 50 - 20 for (almost all of) the month: a prorated difference, not a full price.
    assert 0 < answer["invoice"]["total"] <= 30
    held = customer(catalog)
    assert [s["plan_id"] for s in held["subscriptions"]] == ["premium"]
    assert held["balances"]["messages"]["granted"] == 5000
    stripe = stripe_client(webhooks)
    (subscription,) = stripe.v1.subscriptions.list({"customer": stripe_customer}).data
    assert subscription.status == "active"
    assert [i.price.unit_amount for i in subscription["items"].data] == [5000]
    (upgrade, first) = stripe.v1.invoices.list({"customer": stripe_customer}).data
    assert first.total == 2000
    assert any(line.amount < 0 for line in upgrade.lines.data), "credit for the unused part"


def test_an_upgrade_whose_payment_fails_changes_nothing(
    catalog: httpx.Client, webhooks: LocalStack
) -> None:
    stripe_customer = with_card_on_file(catalog, webhooks, "pm_card_visa")
    attach(catalog, plan_id="pro")
    stripe = stripe_client(webhooks)
    failing = stripe.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", {"customer": stripe_customer}
    )
    (subscription,) = stripe.v1.subscriptions.list({"customer": stripe_customer}).data
    stripe.v1.subscriptions.update(subscription.id, {"default_payment_method": failing.id})

    answer = attach(catalog, plan_id="premium").json()

    assert answer["required_action"]["code"] == "payment_failed"
    assert [s["plan_id"] for s in customer(catalog)["subscriptions"]] == ["pro"]
    (subscription,) = stripe.v1.subscriptions.list({"customer": stripe_customer}).data
    assert [i.price.unit_amount for i in subscription["items"].data] == [2000]
    assert subscription.pending_update is not None


def test_a_downgrade_is_scheduled_and_in_force_after_the_period_end(
    catalog: httpx.Client, webhooks: LocalStack
) -> None:
    stripe = stripe_client(webhooks)
    start = int(time.time())
    test_clock = stripe.v1.test_helpers.test_clocks.create({"frozen_time": start})
    on_clock = stripe.v1.customers.create({"test_clock": test_clock.id})
    linked = catalog.post(
        "/v1/customers.get_or_create", json={"customer_id": "c1", "stripe_id": on_clock.id}
    )
    assert linked.status_code == 200
    with_card_on_file(catalog, webhooks, "pm_card_visa")
    attach(catalog, plan_id="premium")

    response = attach(catalog, plan_id="pro")

    assert response.status_code == 200
    assert response.json()["payment_url"] is None
    held = customer(catalog)
    assert [(s["plan_id"], s["status"]) for s in held["subscriptions"]] == [
        ("premium", "active"),
        ("pro", "scheduled"),
    ]
    assert held["balances"]["messages"]["granted"] == 5000, "premium until the period end"
    (invoice,) = stripe.v1.invoices.list({"customer": on_clock.id}).data
    assert invoice.total == 5000, "nothing charged for the downgrade"

    advance_clock(stripe, test_clock.id, start + 32 * 24 * 3600)

    held = customer(catalog)
    assert [(s["plan_id"], s["status"]) for s in held["subscriptions"]] == [("pro", "active")]
    assert held["balances"]["messages"]["granted"] == 1000
    (subscription,) = stripe.v1.subscriptions.list({"customer": on_clock.id}).data
    assert [i.price.unit_amount for i in subscription["items"].data] == [2000]
    renewal = stripe.v1.invoices.list({"customer": on_clock.id}).data[0]
    assert (renewal.status, renewal.total) == ("paid", 2000)


def test_a_downgrade_to_a_free_plan_cancels_at_the_period_end_then_grants_the_free_plan(
    catalog: httpx.Client, webhooks: LocalStack
) -> None:
    stripe = stripe_client(webhooks)
    start = int(time.time())
    test_clock = stripe.v1.test_helpers.test_clocks.create({"frozen_time": start})
    on_clock = stripe.v1.customers.create({"test_clock": test_clock.id})
    catalog.post(
        "/v1/customers.get_or_create", json={"customer_id": "c1", "stripe_id": on_clock.id}
    )
    with_card_on_file(catalog, webhooks, "pm_card_visa")
    attach(catalog, plan_id="pro")

    response = attach(catalog, plan_id="free")

    assert response.status_code == 200
    assert response.json()["payment_url"] is None
    held = customer(catalog)
    assert [(s["plan_id"], s["status"]) for s in held["subscriptions"]] == [
        ("pro", "active"),
        ("free", "scheduled"),
    ]
    pro = held["subscriptions"][0]
    assert pro["canceled_at"] is not None
    assert pro["expires_at"] == pro["current_period_end"]
    assert held["balances"]["messages"]["granted"] == 1000, "pro until the period end"
    (subscription,) = stripe.v1.subscriptions.list({"customer": on_clock.id}).data
    assert subscription.cancel_at_period_end is True
    assert attach(catalog, plan_id="free").status_code == 409, "already scheduled"
    assert len(customer(catalog)["subscriptions"]) == 2

    advance_clock(stripe, test_clock.id, start + 32 * 24 * 3600)

    held = customer(catalog)
    assert [(s["plan_id"], s["status"]) for s in held["subscriptions"]] == [("free", "active")]
    assert held["balances"]["messages"]["granted"] == 100
    (ended,) = stripe.v1.subscriptions.list({"customer": on_clock.id, "status": "all"}).data
    assert ended.status == "canceled"
    assert [i.total for i in stripe.v1.invoices.list({"customer": on_clock.id}).data] == [2000]


def test_an_upgrade_needing_authentication_applies_once_authenticated(
    catalog: httpx.Client, webhooks: LocalStack
) -> None:
    stripe_customer = with_card_on_file(catalog, webhooks, "pm_card_visa")
    attach(catalog, plan_id="pro")
    stripe = stripe_client(webhooks)
    strict = stripe.v1.payment_methods.attach(
        "pm_card_authenticationRequired", {"customer": stripe_customer}
    )
    (subscription,) = stripe.v1.subscriptions.list({"customer": stripe_customer}).data
    stripe.v1.subscriptions.update(subscription.id, {"default_payment_method": strict.id})

    answer = attach(catalog, plan_id="premium").json()
    assert answer["required_action"]["code"] == "3ds_required"
    assert [s["plan_id"] for s in customer(catalog)["subscriptions"]] == ["pro"]

    httpx.post(answer["payment_url"], data={"action": "authenticate"}, timeout=PAGE_TIMEOUT_S)

    held = customer(catalog)
    assert [s["plan_id"] for s in held["subscriptions"]] == ["premium"]
    assert held["balances"]["messages"]["granted"] == 5000
    (subscription,) = stripe.v1.subscriptions.list({"customer": stripe_customer}).data
    assert [i.price.unit_amount for i in subscription["items"].data] == [5000]


def test_prepaid_quantities_are_bought_in_packages_and_granted_in_units(
    catalog: httpx.Client, webhooks: LocalStack
) -> None:
    catalog.post("/v1/features.create", json=SEATS)
    assert catalog.post("/v1/plans.create", json=TEAM).status_code == 200
    stripe_customer = with_card_on_file(catalog, webhooks, "pm_card_visa")

    answer = attach(
        catalog, plan_id="team", feature_quantities=[{"feature_id": "seats", "quantity": 13}]
    ).json()

    # 13 seats, 2 included: 11 bought, in 3 packages of 5 (8 each) on top of the base 30.
    assert (answer["invoice"]["status"], answer["invoice"]["total"]) == ("paid", 54)
    assert customer(catalog)["balances"]["seats"]["granted"] == 17
    (subscription,) = (
        stripe_client(webhooks).v1.subscriptions.list({"customer": stripe_customer}).data
    )
    quantities = sorted((i.price.unit_amount, i.quantity) for i in subscription["items"].data)
    assert quantities == [(800, 3), (3000, 1)]


def test_an_add_on_stacks_on_the_main_plan(catalog: httpx.Client, webhooks: LocalStack) -> None:
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

    answer = attach(catalog, plan_id="support").json()

    assert answer["invoice"]["status"] == "paid"
    held = customer(catalog)
    assert sorted(s["plan_id"] for s in held["subscriptions"]) == ["pro", "support"]
    assert held["balances"]["messages"]["granted"] == 1050


def test_a_paid_plan_paid_on_the_checkout_page_is_active_and_granted(
    catalog: httpx.Client, webhooks: LocalStack
) -> None:
    answer = attach(catalog, plan_id="pro", success_url=SUCCESS_URL).json()

    paid = pay_on_checkout_page(answer["payment_url"], "4242424242424242")

    assert paid.status_code == 303
    held = customer(catalog)
    assert [(s["plan_id"], s["status"]) for s in held["subscriptions"]] == [("pro", "active")]
    assert held["balances"]["messages"]["granted"] == 1000
    stripe = stripe_client(webhooks)
    subscriptions = stripe.v1.subscriptions.list({"customer": held["stripe_id"]}).data
    assert [s.status for s in subscriptions] == ["active"]
    invoices = stripe.v1.invoices.list({"customer": held["stripe_id"]}).data
    assert [(i.status, i.total) for i in invoices] == [("paid", 2000)]


def test_a_declined_card_on_the_checkout_page_leaves_the_plan_unpaid_and_ungranted(
    catalog: httpx.Client, webhooks: LocalStack
) -> None:
    answer = attach(catalog, plan_id="pro", success_url=SUCCESS_URL).json()

    assert pay_on_checkout_page(answer["payment_url"], "4000000000000002").status_code == 402

    held = customer(catalog)
    assert held["subscriptions"] == []
    assert stripe_client(webhooks).v1.subscriptions.list().data == []
    # The same session can still be paid with another card.
    pay_on_checkout_page(answer["payment_url"], "4242424242424242")
    assert [s["plan_id"] for s in customer(catalog)["subscriptions"]] == ["pro"]


def test_after_checkout_the_next_plan_change_needs_no_redirect(
    catalog: httpx.Client, webhooks: LocalStack
) -> None:
    first = attach(catalog, plan_id="pro", success_url=SUCCESS_URL).json()
    pay_on_checkout_page(first["payment_url"], "4242424242424242")

    upgrade = attach(catalog, plan_id="premium").json()

    assert upgrade["payment_url"] is None
    assert upgrade["invoice"]["status"] == "paid"
    assert [s["plan_id"] for s in customer(catalog)["subscriptions"]] == ["premium"]


def test_an_abandoned_checkout_cannot_be_paid_once_the_plan_was_bought_another_way(
    catalog: httpx.Client, webhooks: LocalStack
) -> None:
    abandoned = attach(catalog, plan_id="pro", success_url=SUCCESS_URL).json()
    with_card_on_file(catalog, webhooks, "pm_card_visa")
    assert attach(catalog, plan_id="pro").json()["invoice"]["status"] == "paid"

    # The card purchase superseded the checkout: its page was expired in Stripe.
    paid = httpx.post(
        abandoned["payment_url"],
        data={"card_number": "4242424242424242"},
        timeout=PAGE_TIMEOUT_S,
    )

    assert paid.status_code != 303
    (session,) = stripe_client(webhooks).v1.checkout.sessions.list().data
    assert session.status == "expired"
    held = customer(catalog)
    assert [s["plan_id"] for s in held["subscriptions"]] == ["pro"]
    assert held["balances"]["messages"]["granted"] == 1000


def test_ten_concurrent_attaches_with_a_card_make_one_subscription_and_one_charge(
    catalog: httpx.Client, webhooks: LocalStack
) -> None:
    stripe_customer = with_card_on_file(catalog, webhooks, "pm_card_visa")
    statuses: list[int] = []
    start = threading.Barrier(10)

    def one() -> None:
        # A loaded machine must not trip the client: the one attach that wins takes a while.
        with httpx.Client(
            base_url=catalog.base_url, headers=catalog.headers, timeout=PAGE_TIMEOUT_S
        ) as client:
            start.wait()
            statuses.append(attach(client, plan_id="pro").status_code)

    threads = [threading.Thread(target=one) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses.count(200) == 1, statuses
    assert set(statuses) <= {200, 409, 423}
    assert 423 in statuses
    stripe = stripe_client(webhooks)
    assert len(stripe.v1.subscriptions.list({"customer": stripe_customer}).data) == 1
    assert len(stripe.v1.invoices.list({"customer": stripe_customer}).data) == 1
    assert [s["plan_id"] for s in customer(catalog)["subscriptions"]] == ["pro"]


def test_an_attach_retried_with_one_key_and_then_paid_makes_one_subscription(
    catalog: httpx.Client, webhooks: LocalStack
) -> None:
    answers = [
        catalog.post(
            "/v1/billing.attach",
            json={"customer_id": "c1", "plan_id": "pro", "success_url": SUCCESS_URL},
            headers={"Idempotency-Key": "attach-pro"},
        ).json()
        for _ in range(10)
    ]
    (url,) = {a["payment_url"] for a in answers}

    pay_on_checkout_page(url, "4242424242424242")

    stripe = stripe_client(webhooks)
    assert len(stripe.v1.checkout.sessions.list().data) == 1
    assert [s.status for s in stripe.v1.subscriptions.list().data] == ["active"]
    assert [s["plan_id"] for s in customer(catalog)["subscriptions"]] == ["pro"]


def test_a_trial_requiring_a_card_collects_it_at_checkout_and_charges_nothing_yet(
    catalog: httpx.Client, webhooks: LocalStack
) -> None:
    trial = {"duration_length": 14, "duration_type": "day", "card_required": True}
    answer = attach(catalog, plan_id="pro", free_trial=trial, success_url=SUCCESS_URL).json()
    assert customer(catalog)["subscriptions"] == []

    pay_on_checkout_page(answer["payment_url"], "4242424242424242")

    (held,) = customer(catalog)["subscriptions"]
    assert held["plan_id"] == "pro"
    assert held["trial_ends_at"] is not None
    stripe = stripe_client(webhooks)
    assert [s.status for s in stripe.v1.subscriptions.list().data] == ["trialing"]
    assert all(i.total == 0 for i in stripe.v1.invoices.list().data)


def test_a_url_stripe_refuses_is_a_400_naming_stripes_param_and_buys_nothing(
    catalog: httpx.Client,
) -> None:
    # Has a scheme and no host: Stripe answers 400 url_invalid on success_url; no retry fixes it.
    response = attach(catalog, plan_id="pro", success_url="https://?next=1")

    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "stripe_invalid_request"
    assert body["details"][0]["field"] == "success_url"
    assert body["details"][0]["stripe_code"] == "url_invalid"
    assert [s["plan_id"] for s in customer(catalog)["subscriptions"]] == []
