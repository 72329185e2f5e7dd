"""Keeping the Stripe customer in step with ours."""

from __future__ import annotations

from billing.domain.customers import Customer
from billing.domain.errors import InvalidRequest
from billing.services.customers.get import get_customer
from billing.services.retry import on_conflict
from billing.store import customers
from billing.stripe_api import StripeCustomer, StripeFactory


def linked_to_stripe(customer: Customer, customer_id: str, stripe: StripeFactory) -> Customer:
    """The customer linked to its Stripe customer, created on its first billing call (one
    Stripe customer however many calls race: its idempotency key is our internal id)."""
    if customer.stripe_id:
        return customer
    created = stripe().create_customer(customer.internal_id, customer.id)

    def link() -> Customer:
        fresh = get_customer(customer_id)
        if fresh.stripe_id:
            return fresh
        return customers.save(fresh, fresh._replace(stripe_id=created.id))

    return on_conflict(link)


def require_stripe_customer(stripe: StripeFactory, stripe_id: str) -> None:
    """A Stripe customer id given to us must name a live Stripe customer."""
    if stripe().retrieve_customer(stripe_id) is None:
        raise InvalidRequest(
            "No such Stripe customer.",
            details=[{"field": "stripe_id", "message": "Stripe has no live customer with this id"}],
        )


def push_contact_details(stripe: StripeFactory, customer: Customer) -> None:
    """Copies name and email to the linked Stripe customer (receipts, checkout prefill)."""
    if customer.stripe_id and (customer.name or customer.email):
        stripe().update_customer(
            customer.stripe_id, name=customer.name, email=customer.email, version=customer.version
        )


def contact_details_changed(before: Customer, after: Customer) -> bool:
    return (before.name, before.email) != (after.name, after.email)


def follow_stripe_contact_details(found: StripeCustomer) -> None:
    """Our customer's name and email become the Stripe customer's (changed in Stripe's
    dashboard, portal or Checkout). A Stripe customer that is none of ours changes nothing;
    our own pushes come back equal and write nothing."""

    def follow() -> None:
        customer = customers.load_by_stripe_id(found.id)
        if customer is None:
            return
        after = customer._replace(
            name=found.name or customer.name, email=found.email or customer.email
        )
        if contact_details_changed(customer, after):
            customers.save(customer, after)

    on_conflict(follow)
