"""The Stripe our services are given: one object per Stripe resource, all sharing one call
wrapper (`call.StripeCall`: errors mapped to ours, idempotency keys, the client's retries).

Services are typed against `StripeGateway` itself, so a new Stripe call is a method of one
resource module, and nothing else changes. Only `get_gateway` (in `billing.stripe_api`)
imports this module, when a request really needs Stripe.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from billing.config import settings, stripe_secret_key
from billing.stripe_api.call import StripeCall, connect
from billing.stripe_api.catalog import Catalog
from billing.stripe_api.checkout import Checkout
from billing.stripe_api.customers import Customers
from billing.stripe_api.invoices import Invoices
from billing.stripe_api.overage_invoices import OverageInvoices
from billing.stripe_api.payments import Payments
from billing.stripe_api.portal import Portal
from billing.stripe_api.previews import Previews
from billing.stripe_api.schedules import Schedules
from billing.stripe_api.subscriptions import Subscriptions
from billing.stripe_api.test_clocks import TestClocks


class StripeGateway:
    """Stripe by resource: `stripe().subscriptions.cancel_now(...)`,
    `stripe().invoices.state(...)`. Every mutating call is idempotent in Stripe."""

    def __init__(self, call: StripeCall) -> None:
        self._call = call
        self.catalog = Catalog(call)
        self.test_clocks = TestClocks(call)
        self.customers = Customers(call, self.test_clocks)
        self.invoices = Invoices(call)
        self.overage = OverageInvoices(call, self.invoices)
        self.payments = Payments(call, self.customers, self.invoices)
        self.checkout = Checkout(call, self.invoices)
        self.subscriptions = Subscriptions(call, self.invoices)
        self.schedules = Schedules(call, self.subscriptions)
        self.previews = Previews(call, self.subscriptions)
        self.portal = Portal(call)

    def retrieve_object(self, object_type: str, object_id: str) -> dict[str, Any] | None:
        """The object a webhook event is about, as Stripe has it now (`object_type` as its
        `object` field says: "checkout.session", "invoice", ...); None when Stripe has no
        such object."""
        return self._call.retrieve(object_type, object_id)


@cache
def gateway() -> StripeGateway:
    return StripeGateway(connect(stripe_secret_key(), settings().stripe_api_base))
