"""A typed gateway over Stripe's API, on a `StripeClient` (never the SDK's global state).

Every mutating call carries a deterministic idempotency key derived from our own ids, so a
retried or concurrent operation can never create or charge anything twice in Stripe.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import stripe

from billing.config import settings, stripe_secret_key
from billing.domain.errors import InvalidRequest, StripeUnavailable

if TYPE_CHECKING:
    from stripe._base_address import BaseAddresses
    from stripe.params import CustomerCreateParams, CustomerUpdateParams

# Stripe keeps an idempotency key for 24 hours; the prefix names the operation so that one
# id can never collide across operations.
_KEY_PREFIX = "billing-v1"


@dataclass(frozen=True)
class StripeCustomer:
    id: str
    email: str | None
    name: str | None
    metadata: dict[str, str]


class StripeGateway:
    def __init__(self, client: stripe.StripeClient) -> None:
        self._client = client

    def create_customer(self, internal_id: str, customer_id: str | None) -> StripeCustomer:
        """Creates the Stripe customer of one of our customers: once, whoever asks how often.

        Only values fixed at our customer's creation go into the request, because Stripe
        rejects a reused idempotency key whose parameters differ.
        """
        metadata = {"billing_internal_id": internal_id}
        if customer_id is not None:
            metadata["billing_customer_id"] = customer_id
        params: CustomerCreateParams = {"metadata": metadata}
        created = self._call(
            lambda: self._client.v1.customers.create(
                params, {"idempotency_key": f"{_KEY_PREFIX}:customer.create:{internal_id}"}
            )
        )
        return _customer(created)

    def retrieve_customer(self, stripe_id: str) -> StripeCustomer | None:
        """The Stripe customer, or None when Stripe has no such (or a deleted) customer."""
        try:
            found = self._client.v1.customers.retrieve(stripe_id)
        except stripe.InvalidRequestError as error:
            if error.code == "resource_missing":
                return None
            raise InvalidRequest("Stripe rejected the Stripe customer id.") from error
        except stripe.StripeError as error:
            raise StripeUnavailable from error
        if getattr(found, "deleted", False):
            return None
        return _customer(found)

    def update_customer(
        self, stripe_id: str, *, name: str | None, email: str | None, version: int
    ) -> None:
        """Copies our name and email to Stripe. Keyed by our record's version: one per change."""
        # Stripe unsets a field sent as "", never as a missing key.
        params: CustomerUpdateParams = {"name": name or "", "email": email or ""}
        self._call(
            lambda: self._client.v1.customers.update(
                stripe_id,
                params,
                {"idempotency_key": f"{_KEY_PREFIX}:customer.update:{stripe_id}:{version}"},
            )
        )

    def delete_customer(self, stripe_id: str) -> None:
        try:
            self._client.v1.customers.delete(stripe_id)
        except stripe.InvalidRequestError as error:
            if error.code != "resource_missing":  # already gone is what we wanted
                raise StripeUnavailable from error
        except stripe.StripeError as error:
            raise StripeUnavailable from error

    @staticmethod
    def _call(request: Any) -> Any:
        try:
            return request()
        except stripe.StripeError as error:
            # Stripe's message can echo request data: keep it out of our answer and logs.
            raise StripeUnavailable from error


def _customer(obj: Any) -> StripeCustomer:
    fields = obj.to_dict()
    return StripeCustomer(
        id=fields["id"],
        email=fields.get("email"),
        name=fields.get("name"),
        metadata=dict(fields.get("metadata") or {}),
    )


@cache
def gateway() -> StripeGateway:
    configured = settings()
    base: BaseAddresses = {}
    if configured.stripe_api_base:  # the local emulator instead of Stripe
        base["api"] = configured.stripe_api_base
    client = stripe.StripeClient(stripe_secret_key(), base_addresses=base, max_network_retries=2)
    return StripeGateway(client)
