"""The customer page's billing on the local stack, Stripe emulator behind it: cancel and
uncancel a held plan (billing.update in-process), and the customer's invoices."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pytest

from billing.store import keys
from local.stack import LocalStack
from tests.conftest import dynamodb_client, stripe_client
from tests.dashboard.conftest import Dashboard
from tests.integration.test_attach_api import PREMIUM, PRO, with_card_on_file


@pytest.fixture
def on_pro(api: httpx.Client, clean_stack: LocalStack) -> str:
    """Customer c1 holding pro (20 a month), paid with its card on file; returns its Stripe
    customer."""
    for body in (
        {"feature_id": "messages", "name": "Messages", "type": "metered"},
        {"feature_id": "sso", "name": "SSO", "type": "boolean"},
    ):
        assert api.post("/v1/features.create", json=body).status_code == 200
    assert api.post("/v1/plans.create", json=PRO).status_code == 200
    stripe_customer = with_card_on_file(api, clean_stack, "pm_card_visa")
    attached = api.post("/v1/billing.attach", json={"customer_id": "c1", "plan_id": "pro"})
    assert attached.json()["invoice"]["status"] == "paid", attached.text
    return stripe_customer


def stripe_subscription(stack: LocalStack, stripe_customer: str) -> Any:
    found = stripe_client(stack).v1.subscriptions.list(
        {"customer": stripe_customer, "status": "all"}
    )
    (subscription,) = found.data
    return subscription


def plan_row(page: str, plan_id: str) -> str:
    found = re.search(rf'<tr data-plan="{plan_id}">(.*?)</tr>', page, re.S)
    assert found is not None, f"the page lists {plan_id}"
    return found.group(1)


def cancel_form(page: str, plan_id: str, action: str) -> dict[str, str]:
    """The fields the plan's button for `action` sends (its CSRF token added on post)."""
    row = plan_row(page, plan_id)
    assert f'name="cancel_action" value="{action}"' in row, f"{plan_id} offers {action}"
    found = re.search(r'name="subscription_id" value="([^"]+)"', row)
    assert found is not None
    return {"subscription_id": found.group(1), "cancel_action": action}


def test_cancel_at_period_end_sets_it_in_stripe_and_the_page_shows_it_then_uncancel_takes_it_back(
    operator: Dashboard, clean_stack: LocalStack, on_pro: str
):
    page = operator.get("/customer", id="c1").text
    assert '<span class="status">active</span>' in plan_row(page, "pro")

    canceled = operator.post(
        "/customer/cancel?id=c1", cancel_form(page, "pro", "cancel_end_of_cycle")
    )

    assert canceled.status_code == 303
    assert stripe_subscription(clean_stack, on_pro).cancel_at_period_end is True
    shown = operator.http.get(canceled.headers["location"]).text
    assert "The plan is canceled at the end of its period." in shown
    row = plan_row(shown, "pro")
    assert "canceling at period end" in row
    assert re.search(r"\(ends \d{4}-\d\d-\d\d \d\d:\d\d UTC\)", row)

    uncanceled = operator.post("/customer/cancel?id=c1", cancel_form(shown, "pro", "uncancel"))

    assert uncanceled.status_code == 303
    assert stripe_subscription(clean_stack, on_pro).cancel_at_period_end is False
    again = operator.http.get(uncanceled.headers["location"]).text
    assert '<span class="status">active</span>' in plan_row(again, "pro")
    assert 'value="cancel_end_of_cycle"' in plan_row(again, "pro")


def test_a_downgrade_scheduled_between_paid_plans_is_taken_back_with_uncancel(
    operator: Dashboard, api: httpx.Client, clean_stack: LocalStack, on_pro: str
):
    assert api.post("/v1/plans.create", json=PREMIUM).status_code == 200
    for plan_id in ("premium", "pro"):
        answer = api.post("/v1/billing.attach", json={"customer_id": "c1", "plan_id": plan_id})
        assert answer.status_code == 200, answer.text
    page = operator.get("/customer", id="c1").text
    assert '<span class="status">scheduled</span>' in plan_row(page, "pro")

    uncanceled = operator.post("/customer/cancel?id=c1", cancel_form(page, "premium", "uncancel"))

    assert uncanceled.status_code == 303
    assert stripe_subscription(clean_stack, on_pro).schedule is None
    again = operator.http.get(uncanceled.headers["location"]).text
    assert 'data-plan="pro"' not in again
    assert 'value="cancel_end_of_cycle"' in plan_row(again, "premium")


def test_cancel_now_ends_the_stripe_subscription_and_the_plan_leaves_the_page(
    operator: Dashboard, api: httpx.Client, clean_stack: LocalStack, on_pro: str
):
    page = operator.get("/customer", id="c1").text

    answer = operator.post("/customer/cancel?id=c1", cancel_form(page, "pro", "cancel_immediately"))

    assert answer.status_code == 303
    assert stripe_subscription(clean_stack, on_pro).status == "canceled"
    held = api.post("/v1/customers.get", json={"customer_id": "c1"}).json()["subscriptions"]
    assert [s["plan_id"] for s in held] == []
    assert 'data-plan="pro"' not in operator.http.get(answer.headers["location"]).text


def test_a_cancel_without_a_csrf_token_is_403_and_changes_nothing(
    operator: Dashboard, clean_stack: LocalStack, on_pro: str
):
    form = cancel_form(operator.get("/customer", id="c1").text, "pro", "cancel_end_of_cycle")

    missing = operator.http.post("/dashboard/customer/cancel?id=c1", data=form)
    wrong = operator.post("/customer/cancel?id=c1", form, csrf="not-the-token")

    assert (missing.status_code, wrong.status_code) == (403, 403)
    assert stripe_subscription(clean_stack, on_pro).cancel_at_period_end is False
    assert "canceling" not in plan_row(operator.get("/customer", id="c1").text, "pro")


def test_a_refused_cancel_shows_the_service_error_on_the_page_and_changes_nothing(
    operator: Dashboard, api: httpx.Client, clean_stack: LocalStack
):
    api.post("/v1/features.create", json={"feature_id": "messages", "name": "M", "type": "metered"})
    api.post(
        "/v1/plans.create",
        json={"plan_id": "free", "name": "Free", "items": [{"feature_id": "messages"}]},
    )
    api.post("/v1/customers.get_or_create", json={"customer_id": "c2"})
    operator.post("/customer/plans?id=c2", {"plan_id": "free"})
    page = operator.get("/customer", id="c2").text

    now_only = cancel_form(page, "free", "cancel_immediately")
    # As a stale page or a hand-made form would send it.
    at_period_end = {**now_only, "cancel_action": "cancel_end_of_cycle"}

    free = operator.post("/customer/cancel?id=c2", at_period_end)
    unknown = operator.post(
        "/customer/cancel?id=c2",
        {"subscription_id": "sub_nobody", "cancel_action": "cancel_end_of_cycle"},
    )
    nonsense = operator.post(
        "/customer/cancel?id=c2", {"subscription_id": "x", "cancel_action": "destroy"}
    )

    assert free.status_code == 400
    assert 'role="alert"' in free.text
    assert "A free plan has no billing period to end" in free.text
    assert 'value="cancel_end_of_cycle"' not in plan_row(page, "free"), "no period to end"
    assert unknown.status_code == 404
    assert "has no subscription" in unknown.text
    assert nonsense.status_code == 400
    assert "cancel_action" in nonsense.text
    held = api.post("/v1/customers.get", json={"customer_id": "c2"}).json()["subscriptions"]
    assert [(s["plan_id"], s["canceled_at"]) for s in held] == [("free", None)]


def test_a_cancel_while_another_billing_change_runs_shows_423_as_a_message(
    operator: Dashboard, clean_stack: LocalStack, on_pro: str
):
    form = cancel_form(operator.get("/customer", id="c1").text, "pro", "cancel_end_of_cycle")
    lock = {"PK": {"S": keys.billing_lock_pk("c1")}, "SK": {"S": "LOCK"}}
    running_until = int(time.time() * 1000) + 60_000
    dynamodb_client(clean_stack).put_item(
        TableName=clean_stack.config.table_name,
        Item={**lock, "holder": {"S": "another call"}, "until": {"N": str(running_until)}},
    )

    answer = operator.post("/customer/cancel?id=c1", form)

    assert answer.status_code == 423
    assert 'role="alert"' in answer.text
    assert stripe_subscription(clean_stack, on_pro).cancel_at_period_end is False


def test_the_invoices_of_a_paid_attach_show_with_status_total_and_hosted_link(
    operator: Dashboard, clean_stack: LocalStack, on_pro: str
):
    (invoice,) = stripe_client(clean_stack).v1.invoices.list({"customer": on_pro}).data

    page = operator.get("/customer", id="c1").text

    found = re.search(rf'<tr data-invoice="{invoice.id}">(.*?)</tr>', page, re.S)
    assert found is not None, "the invoice is listed"
    row = found.group(1)
    assert '<span class="status">paid</span>' in row
    assert "<td>20 USD</td>" in row
    assert "<td>pro</td>" in row
    assert f'<a href="{invoice.hosted_invoice_url}"' in row
    assert re.search(r"<td>\d{4}-\d\d-\d\d \d\d:\d\d UTC</td>", row)


def test_a_customer_without_invoices_says_so(operator: Dashboard, api: httpx.Client):
    api.post("/v1/customers.get_or_create", json={"customer_id": "c3"})

    assert "No invoices." in operator.get("/customer", id="c3").text
