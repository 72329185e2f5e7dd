from __future__ import annotations

import inspect
import json

import pytest

from billing.api.errors import error_response, status_of
from billing.domain import errors

DOCUMENTED_STATUS = {
    errors.BillingError: 500,
    errors.InvalidRequest: 400,
    errors.InvalidStripeEvent: 400,
    errors.RefusedChange: 400,
    errors.Unauthorized: 401,
    errors.RouteNotFound: 404,
    errors.CustomerNotFound: 404,
    errors.CustomerExists: 409,
    errors.FeatureNotFound: 404,
    errors.FeatureExists: 409,
    errors.FeatureInUse: 409,
    errors.PlanNotFound: 404,
    errors.PlanExists: 409,
    errors.PlanAlreadyAttached: 409,
    errors.BalanceNotFound: 404,
    errors.WebhookNotFound: 404,
    errors.WebhookExists: 409,
    errors.BalanceExists: 409,
    errors.StripeCustomerTaken: 409,
    errors.UnclaimedEmailTaken: 409,
    errors.IdempotencyKeyConflict: 409,
    errors.IdempotencyKeyInProgress: 409,
    errors.StripeEventInProgress: 409,
    errors.StripeEventTooEarly: 503,
    errors.StripeEventFailed: 500,
    errors.PayloadTooLarge: 413,
    errors.BillingInProgress: 423,
    errors.StripeUnavailable: 502,
    errors.StripeRejected: 400,
    errors.StripeCardRefused: 402,
    errors.StripeKeyRefused: 500,
    errors.StripeCustomerGone: 409,
    errors.StoreUnavailable: 503,
}

DOCUMENTED_CODE = {
    errors.InvalidRequest: "invalid_inputs",
    errors.InvalidStripeEvent: "invalid_inputs",
    errors.RefusedChange: "invalid_request",
    errors.Unauthorized: "invalid_secret_key",
    errors.RouteNotFound: "not_found",
    errors.CustomerNotFound: "customer_not_found",
    errors.CustomerExists: "customer_already_exists",
    errors.FeatureNotFound: "feature_not_found",
    errors.FeatureExists: "duplicate_feature_id",
    errors.FeatureInUse: "invalid_feature",
    errors.PlanNotFound: "product_not_found",
    errors.PlanExists: "product_already_exists",
    errors.PlanAlreadyAttached: "plan_already_attached",
    errors.BalanceNotFound: "customer_entitlement_not_found",
    errors.WebhookNotFound: "webhook_not_found",
    errors.WebhookExists: "duplicate_webhook_id",
    errors.BalanceExists: "balance_exists",
    errors.StripeCustomerTaken: "customer_already_exists",
    errors.UnclaimedEmailTaken: "duplicate_customer_email",
    errors.IdempotencyKeyConflict: "duplicate_idempotency_key",
    errors.IdempotencyKeyInProgress: "idempotency_key_in_progress",
    errors.StripeEventInProgress: "stripe_event_in_progress",
    errors.StripeEventTooEarly: "stripe_event_too_early",
    errors.StripeEventFailed: "stripe_event_failed",
    errors.PayloadTooLarge: "payload_too_large",
    errors.BillingInProgress: "billing_in_progress",
    errors.StripeUnavailable: "stripe_error",
    errors.StripeRejected: "stripe_invalid_request",
    errors.StripeCardRefused: "stripe_card_error",
    errors.StripeKeyRefused: "stripe_key_refused",
    errors.StripeCustomerGone: "stripe_customer_deleted",
    errors.StoreUnavailable: "service_unavailable",
    errors.BillingError: "internal_error",
}

ALL_ERRORS = [
    cls
    for _, cls in inspect.getmembers(errors, inspect.isclass)
    if issubclass(cls, errors.BillingError)
]


def body_of(error: errors.BillingError) -> dict[str, object]:
    return json.loads(error_response(error).body or "")


def test_every_domain_error_has_a_documented_status():
    assert set(ALL_ERRORS) == set(DOCUMENTED_STATUS)


@pytest.mark.parametrize(("cls", "status"), DOCUMENTED_STATUS.items(), ids=lambda v: str(v))
def test_each_error_maps_to_its_documented_status(cls: type[errors.BillingError], status: int):
    assert status_of(cls()) == status


@pytest.mark.parametrize(("cls", "code"), DOCUMENTED_CODE.items(), ids=lambda v: str(v))
def test_each_error_has_its_public_code(cls: type[errors.BillingError], code: str):
    assert cls.code == code
    assert body_of(cls())["code"] == code


def test_a_subclass_of_a_mapped_error_gets_its_parents_status():
    class Narrower(errors.CustomerNotFound):
        pass

    assert status_of(Narrower()) == 404


def test_the_response_is_json_with_the_errors_status():
    response = error_response(errors.CustomerNotFound())

    assert response.status_code == 404
    assert response.content_type == "application/json"


def test_the_body_has_code_and_message_and_no_details_when_none_are_set():
    assert body_of(errors.CustomerNotFound()) == {
        "code": "customer_not_found",
        "message": "No customer has this id.",
    }


def test_details_are_included_when_set():
    details = [{"field": "email", "message": "must be an email address"}]

    assert body_of(errors.InvalidRequest("Bad fields.", details=details)) == {
        "code": "invalid_inputs",
        "message": "Bad fields.",
        "details": details,
    }


def test_empty_details_are_still_included():
    assert body_of(errors.InvalidRequest(details=[]))["details"] == []


@pytest.mark.parametrize(
    "cls", [errors.StripeUnavailable, errors.StoreUnavailable, errors.BillingError]
)
def test_the_text_of_the_underlying_cause_never_reaches_the_caller(
    cls: type[errors.BillingError],
):
    cause = RuntimeError("card 4242 of ada@example.com failed with key sk_live_secret")
    try:
        raise cls from cause
    except cls as raised:
        response = error_response(raised)

    body = response.body or ""
    for leaked in ("4242", "ada@example.com", "sk_live_secret", "RuntimeError"):
        assert leaked not in body
    assert json.loads(body)["message"] == cls.default_message
