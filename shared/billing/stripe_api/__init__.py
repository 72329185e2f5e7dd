"""Stripe, as the services see it: a small Protocol, and the lazy way to the real one.

Only `billing.stripe_api.gateway` imports the `stripe` SDK. Services are given a
`StripeFactory` and call it only when a request really needs Stripe, so functions that never
talk to Stripe (check, track) neither import the SDK nor need its settings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from billing.domain.plans import Plan, StripeMirror


@dataclass(frozen=True)
class StripeCustomer:
    id: str
    email: str | None
    name: str | None
    metadata: dict[str, str]


class StripeGateway(Protocol):
    """What our services ask of Stripe. Every mutating call is idempotent in Stripe."""

    def create_customer(self, internal_id: str, customer_id: str | None) -> StripeCustomer: ...

    def retrieve_customer(self, stripe_id: str) -> StripeCustomer | None: ...

    def update_customer(
        self, stripe_id: str, *, name: str | None, email: str | None, version: int
    ) -> None: ...

    def delete_customer(self, stripe_id: str) -> None: ...

    def mirror_plan(self, plan: Plan) -> StripeMirror: ...

    def retrieve_object(self, object_type: str, object_id: str) -> dict[str, Any] | None:
        """The object a webhook event is about, as Stripe has it now (`object_type` as its
        `object` field says: "checkout.session", "invoice", "subscription", ...); None when
        Stripe has no such object."""
        ...


# What services that may call Stripe are given: get_gateway, or a test's stand-in.
StripeFactory = Callable[[], StripeGateway]


def get_gateway() -> StripeGateway:
    from billing.stripe_api.gateway import gateway as cached_gateway

    return cached_gateway()
