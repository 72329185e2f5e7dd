"""Stripe's customer portal: the hosted billing page a customer manages its plan and cards
on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from billing.domain.errors import InvalidRequest
from billing.stripe_api.call import Refusal

if TYPE_CHECKING:
    from billing.stripe_api.call import StripeCall


class Portal:
    def __init__(self, call: StripeCall) -> None:
        self._call = call

    def open(
        self, stripe_customer: str, *, return_url: str | None, configuration: str | None
    ) -> str:
        """The URL of a new customer portal session."""
        # No idempotency key: a session changes nothing and expires within minutes, so a
        # retry is better served by a fresh one than by a replay of a stale one.
        params: Any = {"customer": stripe_customer}
        if return_url is not None:
            params["return_url"] = return_url
        if configuration is not None:
            params["configuration"] = configuration
        session = self._call.attempt(lambda: self._call.v1.billing_portal.sessions.create(params))
        if isinstance(session, Refusal):
            if session.invalid_request and session.param == "configuration":
                raise InvalidRequest(
                    "Stripe has no such portal configuration.",
                    details=[{"field": "configuration_id", "message": "no such configuration"}],
                ) from session.cause
            raise session.error from session.cause
        return str(session.url)
