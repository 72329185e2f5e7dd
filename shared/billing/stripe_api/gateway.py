"""A typed gateway over Stripe's API, on a `StripeClient` (never the SDK's global state).

Every mutating call carries a deterministic idempotency key derived from our own ids, so a
retried or concurrent operation can never create or charge anything twice in Stripe.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

import stripe

from billing.config import settings, stripe_secret_key
from billing.domain.errors import InvalidRequest, StripeUnavailable
from billing.domain.plans import Plan, StripeMirror
from billing.stripe_api import StripeCustomer, StripeGateway, catalog

if TYPE_CHECKING:
    from stripe._base_address import BaseAddresses
    from stripe.params import (
        CustomerCreateParams,
        CustomerUpdateParams,
        ProductCreateParams,
        ProductUpdateParams,
    )

# Stripe keeps an idempotency key for 24 hours; the prefix names the operation so that one
# id can never collide across operations.
_KEY_PREFIX = "billing-v1"


class SdkStripeGateway:
    """The `StripeGateway` of production and the local stack: the stripe SDK over HTTP."""

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

    def mirror_plan(self, plan: Plan) -> StripeMirror:
        """The plan version's product and prices in Stripe, found or created: idempotent,
        so pushing the same catalog again creates nothing."""
        product = self._ensured_product(plan)
        mirror = StripeMirror(product_id=product)
        item_prices: dict[str, str] = {}
        for spec in catalog.price_specs(plan, settings().currency):
            price_id = self._ensured_price(spec, product)
            if spec.feature_id is None:
                mirror = mirror.model_copy(update={"base_price_id": price_id})
            else:
                item_prices[spec.feature_id] = price_id
        return mirror.model_copy(update={"item_price_ids": item_prices})

    def _ensured_product(self, plan: Plan) -> str:
        wanted = catalog.product_id(plan.id)
        try:
            found = self._client.v1.products.retrieve(wanted)
        except stripe.InvalidRequestError as error:
            if error.code != "resource_missing":
                raise StripeUnavailable from error
            found = None
        except stripe.StripeError as error:
            raise StripeUnavailable from error
        if found is None:
            params: ProductCreateParams = {
                "id": wanted,
                "name": plan.name,
                "metadata": {"billing_plan_id": plan.id[:500]},
            }
            key = f"{_KEY_PREFIX}:product.create:{wanted}"
            self._call(lambda: self._client.v1.products.create(params, {"idempotency_key": key}))
        elif found.name != plan.name:
            update: ProductUpdateParams = {"name": plan.name}
            key = f"{_KEY_PREFIX}:product.update:{wanted}:{catalog.digest(plan.name)}"
            self._call(
                lambda: self._client.v1.products.update(wanted, update, {"idempotency_key": key})
            )
        return wanted

    def _ensured_price(self, spec: catalog.PriceSpec, product: str) -> str:
        listed = self._call(
            lambda: self._client.v1.prices.list({"lookup_keys": [spec.lookup_key], "limit": 1})
        )
        if listed.data:
            return str(listed.data[0].id)
        params: Any = {**spec.params, "product": product}
        key = f"{_KEY_PREFIX}:price.create:{spec.lookup_key}"
        created = self._call(
            lambda: self._client.v1.prices.create(params, {"idempotency_key": key})
        )
        return str(created.id)

    def retrieve_object(self, object_type: str, object_id: str) -> dict[str, Any] | None:
        v1 = self._client.v1
        retrievers: dict[str, Callable[[str], stripe.StripeObject]] = {
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
        try:
            found = retrieve(object_id)
        except stripe.InvalidRequestError as error:
            if error.code == "resource_missing":
                return None
            raise StripeUnavailable from error
        except stripe.StripeError as error:
            raise StripeUnavailable from error
        fields: dict[str, Any] = found.to_dict()
        return None if fields.get("deleted") else fields

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
    return SdkStripeGateway(client)
