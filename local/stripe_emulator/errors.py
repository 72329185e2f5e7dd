"""Stripe-shaped API errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class StripeError(Exception):
    """An error the emulator answers with, serialised as Stripe's ``{"error": {...}}`` body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        error_type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        replayable: bool = True,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type
        self.code = code
        self.param = param
        # Stripe does not save an idempotency result when a request fails parameter
        # validation, so fixing the parameters and retrying with the same key works.
        self.replayable = replayable
        # More of Stripe's error fields: a card error's decline_code, payment_intent...
        self.extra = dict(extra or {})

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.error_type, "message": self.message}
        if self.code is not None:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param is not None:
            error["param"] = self.param
        # Stripe leaves out what an error does not have (no `"charge": null`).
        error.update((key, value) for key, value in self.extra.items() if value is not None)
        return {"error": error}


def invalid_param(param: str, message: str, code: str = "parameter_invalid") -> StripeError:
    return StripeError(400, message, code=code, param=param, replayable=False)


def unknown_param(param: str) -> StripeError:
    return invalid_param(param, f"Received unknown parameter: {param}", "parameter_unknown")


def missing_param(param: str) -> StripeError:
    return invalid_param(param, f"Missing required param: {param}.", "parameter_missing")


def no_such(object_type: str, object_id: str, param: str = "id") -> StripeError:
    return StripeError(
        404, f"No such {object_type}: '{object_id}'", code="resource_missing", param=param
    )


def unrecognized_url(method: str, path: str) -> StripeError:
    return StripeError(
        404,
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
        "or we can help at https://support.stripe.com/.",
    )


def api_error(status: int = 500, message: str | None = None) -> StripeError:
    return StripeError(
        status,
        message or "An unknown error occurred on the emulated Stripe API.",
        error_type="api_error",
    )
