"""Domain exceptions. Each carries a stable public code and a fixed, safe message.

The codes are Autumn's (its `ErrCode`) wherever Autumn has one, so applications written for
Autumn branch on the same strings; ours only where Autumn has none (a route that does not
exist, a balance id taken, a key still running, a billing change running, a body too large,
a Stripe event being processed).

The HTTP status of each lives in `billing.api.errors`, the one place errors become responses.
"""

from __future__ import annotations

from typing import Any


class BillingError(Exception):
    """Base of every error a caller may see. `message` never contains internal details."""

    code = "internal_error"
    default_message = "Something went wrong on our side."

    def __init__(
        self, message: str | None = None, details: list[dict[str, Any]] | None = None
    ) -> None:
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)


class InvalidRequest(BillingError):
    code = "invalid_inputs"
    default_message = "The request is not valid."


class InvalidStripeEvent(InvalidRequest):
    """A webhook delivery that is not a Stripe event signed with our endpoint's secret in the
    last five minutes. Autumn has no code of its own for this: `invalid_inputs`."""

    default_message = "The request is not a Stripe event signed with this endpoint's secret."


class RefusedChange(InvalidRequest):
    """A well-formed request the customer's state does not allow (uncancel of a plan that
    has not started): Autumn's generic `invalid_request`."""

    code = "invalid_request"
    default_message = "The change is not possible in the customer's current state."


class Unauthorized(BillingError):
    code = "invalid_secret_key"
    default_message = "A valid secret key is required: send 'Authorization: Bearer <secret key>'."


class RouteNotFound(BillingError):
    code = "not_found"
    default_message = "No such route."


class CustomerNotFound(BillingError):
    code = "customer_not_found"
    default_message = "No customer has this id."


class CustomerExists(BillingError):
    code = "customer_already_exists"
    default_message = "A customer with this id already exists."


class StripeCustomerTaken(BillingError):
    code = "customer_already_exists"
    default_message = "This Stripe customer is already linked to another customer."


class UnclaimedEmailTaken(BillingError):
    code = "duplicate_customer_email"
    default_message = "An id-less customer with this email already exists."


class FeatureNotFound(BillingError):
    code = "feature_not_found"
    default_message = "No feature has this id."


class FeatureExists(BillingError):
    code = "duplicate_feature_id"
    default_message = "A feature with this id already exists."


class FeatureInUse(BillingError):
    """A rename, type change or the like that would strand what plans, credit systems or
    customers hold of the feature."""

    code = "invalid_feature"  # Autumn's code when a feature's users forbid a change
    default_message = "The feature is in use and cannot change this way."


class PlanNotFound(BillingError):
    code = "product_not_found"
    default_message = "No plan has this id (or this version)."


class PlanExists(BillingError):
    code = "product_already_exists"
    default_message = "A plan with this id already exists."


class PlanAlreadyAttached(BillingError):
    code = "plan_already_attached"
    default_message = "The customer already has this plan."


class WebhookNotFound(BillingError):
    code = "webhook_not_found"
    default_message = "No webhook has this id."


class WebhookExists(BillingError):
    code = "duplicate_webhook_id"
    default_message = "A webhook with this id already exists."


class BalanceNotFound(BillingError):
    code = "customer_entitlement_not_found"
    default_message = "The customer has no such balance."


class BalanceExists(BillingError):
    code = "balance_exists"
    default_message = "The customer already has a balance with this id."


class IdempotencyKeyConflict(BillingError):
    code = "duplicate_idempotency_key"
    default_message = "This Idempotency-Key was already used with a different request."


class IdempotencyKeyInProgress(BillingError):
    code = "idempotency_key_in_progress"
    default_message = (
        "A request with this Idempotency-Key is still being processed; retry in a moment."
    )


class StripeEventInProgress(BillingError):
    """Another delivery of the same Stripe event is being processed. Not a success: Stripe
    delivers the event again later, and then learns how the first delivery ended."""

    code = "stripe_event_in_progress"
    default_message = "This Stripe event is being processed by another delivery; retry later."


class StripeEventTooEarly(BillingError):
    """A Stripe event arrived before the state it depends on (the purchase its invoice pays
    for is not granted yet): refused so that Stripe delivers it again, rather than lost."""

    code = "stripe_event_too_early"
    default_message = "This Stripe event depends on one not processed yet; retry later."


class StripeEventFailed(BillingError):
    """A handler failed on a Stripe event: the event is left for Stripe's next delivery."""

    code = "stripe_event_failed"
    default_message = "This Stripe event could not be processed yet; it will be retried."


class PayloadTooLarge(BillingError):
    code = "payload_too_large"
    default_message = "The request body is too large."


class BillingInProgress(BillingError):
    """Also raised by the store when a record changed since it was read (optimistic locking);
    services reload and retry a few times before letting the caller see it."""

    code = "billing_in_progress"
    default_message = "Another billing change for this customer is running; retry in a moment."


class StripeUnavailable(BillingError):
    code = "stripe_error"
    default_message = "Stripe did not complete the request; it is safe to retry."


class StripeRejected(InvalidRequest):
    """Stripe refused the request as it stands (a 4xx no retry fixes): `details` name
    Stripe's error code and parameter, so the caller knows what to change."""

    code = "stripe_invalid_request"
    default_message = "Stripe refused the request; retrying it unchanged will not help."


class StripeCardRefused(BillingError):
    """A card error outside a payment we answer for ourselves (a decline is a `Payment`)."""

    code = "stripe_card_error"
    default_message = "Stripe refused the customer's card."


class StripeKeyRefused(BillingError):
    """Stripe refused this deployment's API key (401/403): the operator must fix the
    configuration; no retry by the caller helps."""

    code = "stripe_key_refused"
    default_message = "Stripe refused this deployment's API key; the operator must fix it."


class StripeCustomerGone(BillingError):
    """The Stripe customer our customer is linked to no longer exists in Stripe (deleted
    there). Billing paths unlink it and make a new one; elsewhere it is a 409."""

    code = "stripe_customer_deleted"
    default_message = (
        "The customer's Stripe customer was deleted in Stripe; it is unlinked, retry to "
        "get a new one."
    )


class StoreUnavailable(BillingError):
    code = "service_unavailable"
    default_message = "The billing store is busy; it is safe to retry."
