"""billing.open_customer_portal: a Stripe customer portal session for one of our customers.

The customer gets its Stripe customer on the way if it has none yet, as on its first
purchase, so a portal can be opened before anything was bought.
"""

from __future__ import annotations

from typing import NamedTuple

from billing.services.customers.get import get_customer
from billing.services.customers.stripe_sync import linked_to_stripe, with_live_stripe_customer
from billing.stripe_api import StripeFactory


class OpenPortal(NamedTuple):
    customer_id: str
    return_url: str | None = None
    configuration_id: str | None = None


class PortalSession(NamedTuple):
    customer_id: str
    url: str


def open_portal(command: OpenPortal, stripe: StripeFactory) -> PortalSession:
    return with_live_stripe_customer(
        command.customer_id, stripe, lambda: _open_portal(command, stripe)
    )


def _open_portal(command: OpenPortal, stripe: StripeFactory) -> PortalSession:
    customer = linked_to_stripe(get_customer(command.customer_id), command.customer_id, stripe)
    assert customer.stripe_id is not None  # linked_to_stripe's promise
    url = stripe().portal.open(
        customer.stripe_id, return_url=command.return_url, configuration=command.configuration_id
    )
    return PortalSession(command.customer_id, url)
