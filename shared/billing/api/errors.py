"""The one place where errors become HTTP responses."""

from __future__ import annotations

import json

from aws_lambda_powertools.event_handler import Response

from billing.domain import errors
from billing.observability import logger

_STATUS: dict[type[errors.BillingError], int] = {
    errors.InvalidRequest: 400,
    errors.Unauthorized: 401,
    errors.RouteNotFound: 404,
    errors.CustomerNotFound: 404,
    errors.FeatureNotFound: 404,
    errors.PlanNotFound: 404,
    errors.CustomerExists: 409,
    errors.FeatureExists: 409,
    errors.FeatureInUse: 409,
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


def status_of(error: errors.BillingError) -> int:
    for cls in type(error).__mro__:
        if cls in _STATUS:
            return _STATUS[cls]
    return 500


def error_response(error: errors.BillingError) -> Response[str]:
    status = status_of(error)
    if status >= 500:
        # The cause's type helps on-call; its text may carry request data, so it stays out.
        cause = type(error.__cause__).__name__ if error.__cause__ else None
        logger.warning("request failed", extra={"code": error.code, "cause": cause})
    body: dict[str, object] = {"code": error.code, "message": error.message}
    if error.details is not None:
        body["details"] = error.details
    return json_error(status, body)


def unexpected_error_response(error: Exception) -> Response[str]:
    logger.exception("unexpected error", extra={"error_type": type(error).__name__})
    return error_response(errors.BillingError())


def json_error(status: int, body: dict[str, object]) -> Response[str]:
    return Response(status_code=status, content_type="application/json", body=json.dumps(body))
