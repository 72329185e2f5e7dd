"""Stripe customers: one per customer of ours (made once, whoever asks how often), our name
and email copied to it, and the card Stripe charges it with."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from billing.domain.errors import InvalidRequest
from billing.stripe_api.call import Refusal, once
from billing.stripe_api.objects import id_of

if TYPE_CHECKING:
    from stripe.params import CustomerCreateParams, CustomerUpdateParams

    from billing.stripe_api.call import StripeCall
    from billing.stripe_api.test_clocks import TestClocks


@dataclass(frozen=True)
class StripeCustomer:
    id: str
    email: str | None
    name: str | None
    metadata: dict[str, str]


class Customers:
    def __init__(self, call: StripeCall, clocks: TestClocks) -> None:
        self._call = call
        self._clocks = clocks

    def create(self, internal_id: str, customer_id: str | None, generation: int) -> StripeCustomer:
        """Creates the Stripe customer of one of our customers: once per internal id and
        `generation` (the profile's version when it had none: a customer whose Stripe
        customer was deleted gets a new one, not the old one replayed); in test mode it
        lives on a new test clock of its own.

        Only values fixed at our customer's creation go into the request, because Stripe
        rejects a reused idempotency key whose parameters differ.
        """
        metadata = {"billing_internal_id": internal_id}
        if customer_id is not None:
            metadata["billing_customer_id"] = customer_id
        params: CustomerCreateParams = {"metadata": metadata}
        options = once("customer.create", internal_id, generation)
        if self._call.test_mode:
            found = self._made_for(internal_id)
            if found is not None:
                return found
            params["test_clock"] = self._clocks.create(internal_id)
            options = once("customer.create", internal_id, generation, params["test_clock"])
        created = self._call(lambda: self._call.v1.customers.create(params, options))
        return _customer(created)

    def _made_for(self, internal_id: str) -> StripeCustomer | None:
        """Test mode: the customer an earlier try made (its clock's creation time is in its
        parameters, so a retry cannot rely on idempotency keys alone)."""
        query = f"metadata['billing_internal_id']:'{internal_id}'"
        found = self._call(lambda: self._call.v1.customers.search({"query": query, "limit": 1}))
        return _customer(found.data[0]) if found.data else None

    def retrieve(self, stripe_id: str) -> StripeCustomer | None:
        """The Stripe customer, or None when Stripe has no such (or a deleted) customer."""
        found = self._call.attempt(lambda: self._call.v1.customers.retrieve(stripe_id))
        if isinstance(found, Refusal):
            if found.missing:
                return None
            if found.invalid_request:
                raise InvalidRequest("Stripe rejected the Stripe customer id.") from found.cause
            raise found.error from found.cause
        if getattr(found, "deleted", False):
            return None
        return _customer(found)

    def update(self, stripe_id: str, *, name: str | None, email: str | None, version: int) -> None:
        """Copies our name and email to Stripe. Keyed by our record's version: one per change."""
        # Stripe unsets a field sent as "", never as a missing key.
        params: CustomerUpdateParams = {"name": name or "", "email": email or ""}
        options = once("customer.update", stripe_id, version)
        self._call(lambda: self._call.v1.customers.update(stripe_id, params, options))

    def delete(self, stripe_id: str) -> None:
        # Already gone is what we wanted.
        self._call.found(lambda: self._call.v1.customers.delete(stripe_id))

    def usable_payment_method(self, stripe_customer: str) -> str | None:
        """The card Stripe would charge: the customer's default, else a card attached."""
        default = self.default_card(stripe_customer)
        if default is not None:
            return default
        params: Any = {"customer": stripe_customer, "type": "card", "limit": 1}
        listed = self._call(lambda: self._call.v1.payment_methods.list(params))
        return str(listed.data[0].id) if listed.data else None

    def default_card(self, stripe_customer: str) -> str | None:
        """The customer's default payment method for invoices, if any."""
        found = self._call(lambda: self._call.v1.customers.retrieve(stripe_customer))
        settings_ = found.to_dict().get("invoice_settings") or {}
        return id_of(settings_.get("default_payment_method"))

    def make_default_card(self, stripe_customer: str, payment_method: str) -> None:
        """Makes the card the one Stripe charges the customer's invoices with."""
        v1 = self._call.v1
        params: Any = {"invoice_settings": {"default_payment_method": payment_method}}
        options = once("customer.default_card", stripe_customer, payment_method)
        self._call(lambda: v1.customers.update(stripe_customer, params, options))
        # A subscription with a card of its own (one made by a checkout page) would go on
        # charging that card: it moves to the new default, as Stripe's portal moves it.
        listed = self._call(lambda: v1.subscriptions.list({"customer": stripe_customer}))
        for subscription in listed.auto_paging_iter():
            pinned = id_of(subscription.to_dict().get("default_payment_method"))
            if pinned is None or pinned == payment_method:
                continue
            moved: Any = {"default_payment_method": payment_method}
            move = once("subscription.card", subscription.id, payment_method)
            self._call(partial(v1.subscriptions.update, subscription.id, moved, move))


def _customer(obj: Any) -> StripeCustomer:
    fields = obj.to_dict()
    return StripeCustomer(
        id=fields["id"],
        email=fields.get("email"),
        name=fields.get("name"),
        metadata=dict(fields.get("metadata") or {}),
    )
