"""The one way every resource module calls Stripe: Stripe's errors mapped to ours,
idempotency keys named the same way, the client's timeouts and retries set in one place.

The `stripe` SDK is imported here only when a client is made (and, after that, by the
calls made on it): a function that never talks to Stripe (check, track) never loads it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from billing.domain.errors import (
    BillingError,
    StripeCardRefused,
    StripeCustomerGone,
    StripeKeyRefused,
    StripeRejected,
    StripeUnavailable,
)
from billing.stripe_api.observed import observed

if TYPE_CHECKING:
    import stripe
    from stripe._request_options import RequestOptions
    from stripe._v1_services import V1Services

T = TypeVar("T")

# Stripe keeps an idempotency key for 24 hours; the prefix names the operation so that one
# id can never collide across operations.
_KEY_PREFIX = "billing-v1"
# Each try waits at most TIMEOUT_S for Stripe; the SDK tries NETWORK_RETRIES more times
# (timeouts, 5xx, 409, 429 it is told to retry) with its own backoff. The functions that call
# Stripe are given more time than all of that (a template test reads these; README,
# "Retries and timeouts").
TIMEOUT_S = 8
NETWORK_RETRIES = 2
_TEST_KEYS = ("sk_test_", "rk_test_")


@dataclass(frozen=True)
class Refusal:
    """A Stripe error handed back to the resource that can make something of it (a missing
    object, a card's decline, a parameter of ours) instead of raised as ours."""

    # Stripe's InvalidRequestError (a parameter, a missing object), or its CardError.
    invalid_request: bool
    card: bool
    code: str | None
    param: str | None
    # The error as our services raise it when the resource makes nothing of it.
    error: BillingError
    cause: Exception

    @property
    def missing(self) -> bool:
        """Stripe has no such object."""
        return self.invalid_request and self.code == "resource_missing"


class StripeCall:
    """A client's API (`v1`) and the wrapper every call to it goes through."""

    def __init__(self, client: stripe.StripeClient, *, test_mode: bool = False) -> None:
        self.v1: V1Services = client.v1
        # Test mode: every new Stripe customer lives on a test clock of its own.
        self.test_mode = test_mode

    def __call__(self, request: Callable[[], T]) -> T:
        """The request's answer; any Stripe error raised as ours (see `failure`)."""
        import stripe

        try:
            return request()
        except stripe.StripeError as error:
            raise failure(error) from error

    def attempt(self, request: Callable[[], T]) -> T | Refusal:
        """The request's answer, or Stripe's refusal for the caller to read."""
        import stripe

        try:
            return request()
        except stripe.StripeError as error:
            return Refusal(
                invalid_request=isinstance(error, stripe.InvalidRequestError),
                card=isinstance(error, stripe.CardError),
                code=error.code,
                param=getattr(error, "param", None),
                error=failure(error),
                cause=error,
            )

    def found(self, request: Callable[[], T]) -> T | None:
        """The request's answer; None when Stripe has no such object."""
        answer = self.attempt(request)
        if isinstance(answer, Refusal):
            if answer.missing:
                return None
            raise answer.error from answer.cause
        return answer

    def retrieve(self, object_type: str, object_id: str) -> dict[str, Any] | None:
        """The object a webhook event is about, as Stripe has it now (`object_type` as its
        `object` field says: "checkout.session", "invoice", "subscription", ...); None when
        Stripe has no such (or a deleted) object."""
        v1 = self.v1
        retrievers: dict[str, Callable[[str], Any]] = {
            "charge": v1.charges.retrieve,
            "checkout.session": v1.checkout.sessions.retrieve,
            "customer": v1.customers.retrieve,
            "invoice": v1.invoices.retrieve,
            "payment_intent": v1.payment_intents.retrieve,
            "setup_intent": v1.setup_intents.retrieve,
            "subscription": v1.subscriptions.retrieve,
            "subscription_schedule": v1.subscription_schedules.retrieve,
        }
        retrieve = retrievers.get(object_type)
        if retrieve is None:
            raise ValueError(f"cannot retrieve a Stripe {object_type}")
        found = self.found(lambda: retrieve(object_id))
        if found is None:
            return None
        fields: dict[str, Any] = found.to_dict()
        return None if fields.get("deleted") else fields


def once(operation: str, *ids: object) -> RequestOptions:
    """The request options of a mutating call: an idempotency key derived from our own ids,
    so a retried or concurrent operation never creates or charges anything twice."""
    return {"idempotency_key": key(operation, *ids)}


def key(operation: str, *ids: object) -> str:
    return ":".join([_KEY_PREFIX, operation, *(str(part) for part in ids)])


def connect(secret_key: str, api_base: str | None) -> StripeCall:
    """A client of the stripe SDK over HTTP (never the SDK's global state)."""
    import stripe

    base: Any = {}
    if api_base:  # the local emulator instead of Stripe
        base["api"] = api_base
    # A Stripe that does not answer is a 502 within the function's timeout (the SDK
    # retries timeouts with the same idempotency key).
    http = observed(stripe.new_default_http_client(timeout=TIMEOUT_S))
    client = stripe.StripeClient(
        secret_key, base_addresses=base, max_network_retries=NETWORK_RETRIES, http_client=http
    )
    return StripeCall(client, test_mode=secret_key.startswith(_TEST_KEYS))


def failure(error: stripe.StripeError) -> BillingError:
    """Stripe's error as ours: what a retry can fix (429, 5xx, no answer) is a retryable 502;
    what it cannot is a 4xx naming Stripe's code and parameter, so the caller can fix it.

    Stripe's message goes to the caller, who sent the request it is about, and never to our
    logs (only its type and code are logged)."""
    import stripe

    if isinstance(error, stripe.InvalidRequestError | stripe.IdempotencyError):
        if _customer_missing(error):
            return StripeCustomerGone()
        return StripeRejected(details=[_what_to_fix(error)])
    if isinstance(error, stripe.CardError):
        return StripeCardRefused(details=[_what_to_fix(error)])
    if isinstance(error, stripe.AuthenticationError | stripe.PermissionError):
        return StripeKeyRefused()
    return StripeUnavailable()


def _customer_missing(error: stripe.StripeError) -> bool:
    """Stripe has no such (or a deleted) customer where the request names one."""
    return error.code == "resource_missing" and (
        getattr(error, "param", None) == "customer"
        or str(error.user_message or "").startswith("No such customer")
    )


# Stripe's parameters that are a field of our own request, by our field's name.
_OUR_FIELDS = {"success_url": "success_url", "return_url": "return_url"}


def _what_to_fix(error: stripe.StripeError) -> dict[str, str]:
    param = getattr(error, "param", None)
    detail = {"message": str(error.user_message or "Stripe refused the request.")}
    if param:
        detail = {
            "field": _OUR_FIELDS.get(param, f"stripe.{param}"),
            "stripe_param": param,
            **detail,
        }
    if error.code:
        detail["stripe_code"] = str(error.code)
    return detail
