"""customers.delete: the customer and everything kept under it; in Stripe too if asked."""

from __future__ import annotations

from billing.domain.customers import Customer
from billing.services.customers.get import get_customer
from billing.services.customers.purge import request_purge
from billing.services.retry import on_conflict
from billing.store import customers
from billing.stripe_api import StripeFactory


def delete_customer(customer_id: str, delete_in_stripe: bool, stripe: StripeFactory) -> None:
    """A customer that is gone is billed no more: every subscription its Stripe customer
    has is ended at once, without proration or refund (as Stripe itself does when a
    customer is deleted there), before ours is deleted."""

    def attempt() -> Customer:
        customer = get_customer(customer_id)
        if customer.stripe_id:
            # Stripe first: if it fails, nothing is lost and the call can be retried.
            gateway = stripe()
            for subscription_id in gateway.subscriptions.live_ids(customer.stripe_id):
                gateway.subscriptions.cancel_now(subscription_id)
            if delete_in_stripe:
                gateway.customers.delete(customer.stripe_id)
        customers.delete(customer)
        return customer

    # Its usage events and invoices are unreachable now; their storage is freed in the
    # background.
    request_purge(on_conflict(attempt))
