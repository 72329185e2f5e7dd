"""The check every 2xx answer of the local stack goes through (tests/compat/autumn_openapi):
it must catch what Autumn's published document or autumn-sdk's models refuse, and only that."""

from __future__ import annotations

import json
from typing import Any

from tests.compat.autumn_openapi.conformance import published_answers
from tests.compat.autumn_openapi.recorder import AnswerChecks

CUSTOMER: dict[str, Any] = {
    "id": "u",
    "name": None,
    "email": None,
    "created_at": 1,
    "fingerprint": None,
    "stripe_id": None,
    "env": "sandbox",
    "metadata": {},
    "send_email_receipts": False,
    "billing_controls": {},
    "config": {"disable_pooled_balance": False, "disable_overage_billing": False},
    "subscriptions": [],
    "purchases": [],
    "licenses": [],
    "balances": {},
    "flags": {},
}


def observed(path: str, body: Any, status: int = 200) -> list[str]:
    checks = AnswerChecks()
    checks.observe("POST", path, status, json.dumps(body).encode())
    return checks.take()


def test_the_copy_names_the_document_and_commit_it_came_from() -> None:
    document = published_answers()
    assert len(document.commit) == 40
    assert document.covers("/v1/customers.get")
    assert document.covers("/v1/balances.check")


def test_every_answer_schema_of_the_document_builds_its_quick_check() -> None:
    assert published_answers().compile_all() >= 67


def test_a_property_the_document_closes_is_refused() -> None:
    # A variant's `customize` allows no property of its own (additionalProperties: false).
    plan = {"variant_details": {"customize": {"anything": 1}}}

    found = published_answers().problems("/v1/plans.get", 200, plan)

    assert any("customize" in line and "anything" in line for line in found), found


def test_an_answer_as_autumn_publishes_it_passes() -> None:
    assert observed("/v1/customers.get", CUSTOMER) == []
    check = {
        "allowed": False,
        "customer_id": "u",
        "required_balance": 1,
        "balance": None,
        "flag": None,
    }
    assert observed("/v1/balances.check", check) == []


def test_a_missing_required_field_is_named_with_its_path() -> None:
    body = {k: v for k, v in CUSTOMER.items() if k != "billing_controls"}

    found = observed("/v1/customers.get", body)

    assert any("OpenAPI" in line and "'billing_controls' is a required" in line for line in found)


def test_a_null_where_the_document_allows_none_is_caught_deep_in_the_body() -> None:
    balance = {
        "feature_id": "messages",
        "granted": 10,
        "remaining": 10,
        "usage": 0,
        "unlimited": False,
        "overage_allowed": False,
        "max_purchase": None,
        "next_reset_at": None,
        "breakdown": [
            {
                "id": "b",
                "plan_id": None,
                "included_grant": 10,
                "prepaid_grant": 0,
                "remaining": 10,
                "usage": 0,
                "unlimited": False,
                "reset": None,
                "price": {
                    "amount": 1,
                    "billing_units": 1,
                    "billing_method": "usage_based",
                    "max_purchase": None,
                    "tiers": None,
                },
                "expires_at": None,
            }
        ],
    }
    body = {**CUSTOMER, "balances": {"messages": balance}}

    found = observed("/v1/customers.get", body)

    assert any("$.balances.messages.breakdown[0].price.tiers" in line for line in found), found


def test_the_sdk_model_is_checked_too() -> None:
    found = observed("/v1/balances.check", {"allowed": True, "customer_id": "u"})

    assert any("autumn-sdk model" in line and "$.flag" in line for line in found), found


def test_errors_other_methods_and_our_own_pages_are_not_checked() -> None:
    assert observed("/v1/customers.get", {"code": "x", "message": "y"}, status=404) == []
    assert observed("/dashboard", "<html>") == []
    checks = AnswerChecks()
    checks.observe("GET", "/v1/customers.get", 200, b"{}")
    assert checks.take() == []


def test_autumn_js_models_are_checked_too() -> None:
    found = observed("/v1/customers.get", {**CUSTOMER, "created_at": "yesterday"})

    assert any("autumn-js model" in line and "$.created_at" in line for line in found), found


def test_a_preview_update_answer_is_parsed_with_autumn_js_too() -> None:
    # An empty body is no preview of an update.
    found = observed("/v1/billing.preview_update", {})

    assert any("autumn-js model" in line and "$.customer_id" in line for line in found), found
