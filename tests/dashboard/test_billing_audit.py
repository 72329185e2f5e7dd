"""The billing audit on the local stack: the service over one customer and over all, the
scheduled function (its report stored, its drift metric emitted) and the dashboard page
that shows the last report."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from billing.services.billing.audit import audit_customer, audit_customers
from billing.stripe_api import get_gateway
from local.gateway import FunctionPool
from local.stack import LocalStack
from local.template import load_template, scheduled
from tests.conftest import stripe_client
from tests.dashboard.conftest import Dashboard
from tests.lifecycle import paid_pro_customer


def invoke_audit_function() -> dict[str, Any]:
    (route,) = [r for r in scheduled(load_template()) if r.function == "BillingAuditFunction"]
    event = {"source": "aws.events", "detail-type": "Scheduled Event", "id": str(uuid.uuid4())}
    return FunctionPool(route).invoke(event)


def ended_behind_our_back(stack: LocalStack, subscription: str) -> None:
    """The subscription canceled in Stripe while its events never reach us (as if the
    webhook endpoint were down): the customer keeps a plan nobody bills."""
    with stack.stripe_webhooks_paused():
        stripe_client(stack).v1.subscriptions.cancel(subscription)


def test_a_paid_customer_in_line_with_stripe_has_no_drift(api: httpx.Client, clean_stack):
    paid_pro_customer(api, clean_stack, "pm_card_visa")

    report = audit_customer("c1", get_gateway)

    assert report.complete
    assert report.customers_audited == 1
    assert report.drifts == ()


@pytest.mark.billing_drift_expected(["I2"], "the test ends a subscription behind our back")
def test_a_plan_whose_subscription_ended_unseen_is_an_i2_drift_of_its_customer(
    api: httpx.Client, clean_stack: LocalStack
):
    bought = paid_pro_customer(api, clean_stack, "pm_card_visa")
    api.post("/v1/customers.get_or_create", json={"customer_id": "c2"})
    ended_behind_our_back(clean_stack, bought["subscription"])

    report = audit_customers(get_gateway, page_size=1)

    assert report.complete
    assert report.customers_audited == 2
    (drift,) = report.drifts
    assert (drift.invariant, drift.customer_id, drift.plan_id) == ("I2", "c1", "pro")
    assert f"{bought['subscription']} (canceled)" in drift.found


def test_an_audit_cut_short_resumes_where_it_stopped(api: httpx.Client, clean_stack):
    for n in range(3):
        api.post("/v1/customers.get_or_create", json={"customer_id": f"c{n}"})

    first = audit_customers(get_gateway, page_size=2, more_time=lambda: False)
    rest = audit_customers(get_gateway, resume=first, page_size=2)

    assert (first.customers_audited, first.complete) == (2, False)
    assert (rest.customers_audited, rest.complete) == (3, True)


@pytest.mark.billing_drift_expected(["I2"], "the test ends a subscription behind our back")
def test_the_scheduled_audit_stores_its_report_emits_the_drift_metric_and_the_page_shows_it(
    api: httpx.Client,
    clean_stack: LocalStack,
    operator: Dashboard,
    capsys: pytest.CaptureFixture[str],
):
    assert "No audit has completed yet" in operator.get("/audit").text
    bought = paid_pro_customer(api, clean_stack, "pm_card_visa")
    ended_behind_our_back(clean_stack, bought["subscription"])
    capsys.readouterr()

    ran = invoke_audit_function()
    again = invoke_audit_function()

    assert ran == {"audited": True, "customers_audited": 1, "drift_count": 1, "complete": True}
    assert again == {"audited": False}  # the next complete audit is due in a day
    metrics = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("{") and '"BillingDrift"' in line
    ]
    (emitted,) = metrics
    assert emitted["BillingDrift"] == [1.0]
    assert emitted["CustomersAudited"] == [1.0]
    assert emitted["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Billing"
    shown = operator.get("/audit").text
    assert "1 customers, <strong>1 drift</strong>" in shown
    assert 'href="/dashboard/customer?id=c1">c1</a>' in shown
    assert "no live Stripe subscription bills it" in shown
