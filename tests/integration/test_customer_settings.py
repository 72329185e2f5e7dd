"""Autumn's customer config and billing controls scenarios (ported from useautumn/autumn
server/tests/integration/crud/customers/customer-config.test.ts and
customer-billing-controls.test.ts, and org-config/should-disable-overage-billing): config is
kept and answered, `disable_overage_billing` stops overage invoice items while balances
still reset, and billing controls, which change billing in ways not built here, are refused
by name rather than kept and ignored."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from local.stack import LocalStack
from tests.conftest import stripe_client
from tests.integration.test_overage_invoices import (
    invoice_totals,
    messages,
    pro_with_overage,
    subscribe,
)
from tests.stripe_clocks import advance


def test_config_is_kept_on_create_and_update_switch_by_switch(api: httpx.Client) -> None:
    created = api.post(
        "/v1/customers.get_or_create",
        json={"customer_id": "u", "config": {"disable_pooled_balance": True}},
    )
    updated = api.post(
        "/v1/customers.update",
        json={"customer_id": "u", "config": {"disable_overage_billing": True}},
    )
    fetched = api.post("/v1/customers.get", json={"customer_id": "u"})

    assert created.json()["config"]["disable_pooled_balance"] is True
    assert updated.json()["config"] == fetched.json()["config"]
    assert fetched.json()["config"] == {
        "disable_pooled_balance": True,
        "disable_overage_billing": True,
    }


@pytest.mark.parametrize(
    "control", ["auto_topups", "spend_limits", "usage_alerts", "usage_limits", "overage_allowed"]
)
@pytest.mark.parametrize("route", ["customers.get_or_create", "customers.update"])
def test_a_billing_control_is_refused_by_name_and_changes_nothing(
    api: httpx.Client, route: str, control: str
) -> None:
    api.post("/v1/customers.get_or_create", json={"customer_id": "u"})
    entry = {"feature_id": "messages", "enabled": True, "threshold": 10, "quantity": 100}

    response = api.post(
        f"/v1/{route}",
        json={"customer_id": "u", "name": "New", "billing_controls": {control: [entry]}},
    )

    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_inputs"
    assert [d["field"] for d in response.json()["details"]] == [f"billing_controls.{control}"]
    after = api.post("/v1/customers.get", json={"customer_id": "u"}).json()
    assert after["name"] is None
    assert after["billing_controls"] == {}


def test_empty_billing_controls_ask_for_nothing_and_pass(api: httpx.Client) -> None:
    response = api.post(
        "/v1/customers.get_or_create",
        json={"customer_id": "u", "billing_controls": {"auto_topups": [], "spend_limits": []}},
    )

    assert response.status_code == 200, response.text
    assert response.json()["billing_controls"] == {}


@pytest.mark.slow
def test_disable_overage_billing_leaves_overage_off_the_renewal_but_resets_balances(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    held = subscribe(api, clean_stack, pro_with_overage(0.1, 1))
    switched = api.post(
        "/v1/customers.update",
        json={"customer_id": "c1", "config": {"disable_overage_billing": True}},
    )
    assert switched.status_code == 200, switched.text
    tracked = api.post(
        "/v1/balances.track", json={"customer_id": "c1", "feature_id": "messages", "value": 250}
    )
    assert tracked.status_code == 200, tracked.text

    advance(stripe_client(clean_stack), held["clock"], held["period_end"] + 86400)

    # $20 and $20: without the switch the renewal is $35 (150 past the allowance at $0.10).
    assert invoice_totals(api) == [Decimal("20.00"), Decimal("20.00")]
    balance = messages(api)
    assert (balance["usage"], balance["remaining"]) == (0, 100)
