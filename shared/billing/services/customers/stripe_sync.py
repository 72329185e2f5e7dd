"""Keeping the Stripe customer in step with ours."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from billing.domain.customers import Customer
from billing.domain.errors import InvalidRequest, StripeCustomerGone, UnclaimedEmailTaken
from billing.services.customers.get import get_customer
from billing.services.retry import on_conflict
from billing.store import customers
from billing.stripe_api import StripeFactory
from billing.stripe_api.customers import StripeCustomer

T = TypeVar("T")


def linked_to_stripe(customer: Customer, customer_id: str, stripe: StripeFactory) -> Customer:
    """The customer linked to its Stripe customer, created on its first billing call (one
    Stripe customer however many calls race: its idempotency key is our internal id)."""
    if customer.stripe_id:
        return customer
    created = stripe().customers.create(customer.internal_id, customer.id, customer.version)

    def link() -> Customer:
        fresh = get_customer(customer_id)
        if fresh.stripe_id:
            return fresh
        return customers.save(fresh, fresh._replace(stripe_id=created.id))

    return on_conflict(link)


def require_stripe_customer(stripe: StripeFactory, stripe_id: str) -> None:
    """A Stripe customer id given to us must name a live Stripe customer."""
    if stripe().customers.retrieve(stripe_id) is None:
        raise InvalidRequest(
            "No such Stripe customer.",
            details=[{"field": "stripe_id", "message": "Stripe has no live customer with this id"}],
        )


def push_contact_details(stripe: StripeFactory, customer: Customer) -> None:
    """Copies name and email to the linked Stripe customer (receipts, checkout prefill)."""
    if customer.stripe_id and (customer.name or customer.email):
        stripe().customers.update(
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
        if not contact_details_changed(customer, after):
            return
        try:
            customers.save(customer, after)
        except UnclaimedEmailTaken:
            # Another id-less customer is found by that email: this one keeps its own.
            customers.save(customer, after._replace(email=customer.email))

    on_conflict(follow)


def with_live_stripe_customer(customer_id: str, stripe: StripeFactory, run: Callable[[], T]) -> T:
    """Runs a billing call that may make the customer's Stripe customer; when Stripe answers
    it has no such customer (deleted in Stripe, and its customer.deleted not handled yet),
    the link is dropped and the call runs once more, which makes a new Stripe customer."""
    try:
        return run()
    except StripeCustomerGone:
        unlink_gone_stripe_customer(customer_id, stripe)
        return run()


def unlink_gone_stripe_customer(customer_id: str, stripe: StripeFactory) -> None:
    """Drops the customer's link to a Stripe customer that Stripe no longer has."""

    def unlink() -> None:
        customer = get_customer(customer_id)
        if customer.stripe_id is None or stripe().customers.retrieve(customer.stripe_id):
            return  # relinked meanwhile, or Stripe has it after all: nothing to drop
        customers.save(customer, customer._replace(stripe_id=None))

    on_conflict(unlink)


def forget_deleted_stripe_customer(stripe_id: str, stripe: StripeFactory) -> None:
    """customer.deleted: whoever is linked to this Stripe customer is unlinked (once Stripe
    confirms it is gone), so its next billing call makes a new one instead of failing."""
    if stripe().customers.retrieve(stripe_id) is not None:
        return

    def unlink() -> None:
        customer = customers.load_by_stripe_id(stripe_id)
        if customer is not None:
            customers.save(customer, customer._replace(stripe_id=None))

    on_conflict(unlink)
