"""customers.get_or_create: exactly one customer per id, whoever asks and however often."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from billing import clock
from billing.domain.customer_changes import CustomerDraft, missing_fields_filled
from billing.domain.customers import Customer, CustomerConfig
from billing.domain.errors import (
    CustomerExists,
    InvalidRequest,
    PlanNotFound,
    UnclaimedEmailTaken,
)
from billing.domain.holdings import combined, default_plans, holdings_of
from billing.domain.plans import Plan
from billing.services.app_webhooks import events as app_events
from billing.services.app_webhooks.events import AppEvent, ProductsUpdated
from billing.services.customers.stripe_sync import (
    push_contact_details,
    require_stripe_customer,
)
from billing.services.retry import on_conflict
from billing.store import catalog, customers
from billing.store.catalog import Catalog
from billing.stripe_api import StripeFactory


class GetOrCreateCustomer(BaseModel):
    model_config = ConfigDict(frozen=True)

    customer_id: str | None
    draft: CustomerDraft
    stripe_id: str | None = None
    create_in_stripe: bool = False
    # The free plan to start with instead of the auto-enable ones.
    auto_enable_plan_id: str | None = None


def get_or_create(command: GetOrCreateCustomer, stripe: StripeFactory) -> Customer:
    if command.customer_id is None and not command.draft.email:
        raise InvalidRequest(
            "A customer without an id needs an email, by which it is found and later claimed.",
            details=[{"field": "email", "message": "required when customer_id is null"}],
        )

    def attempt() -> Customer:
        return _linked_to_stripe(_found_or_created(command, stripe), command, stripe)

    # Losing a creation race means the winner's customer exists now: looking again finds it.
    return on_conflict(attempt, also=(CustomerExists, UnclaimedEmailTaken))


def _found_or_created(command: GetOrCreateCustomer, stripe: StripeFactory) -> Customer:
    email = command.draft.email
    if command.customer_id is None:
        assert email is not None
        existing = customers.load_unclaimed(email)
    else:
        existing = customers.load(command.customer_id)
    if existing is not None:
        return _filled_in(existing, command.draft)
    if command.customer_id is not None and email:
        unclaimed = customers.load_unclaimed(email)
        if unclaimed is not None:
            return _claimed(unclaimed, command)
    return _created(command, stripe)


def _filled_in(customer: Customer, draft: CustomerDraft) -> Customer:
    filled = missing_fields_filled(customer, draft)
    if not filled:
        return customer
    return customers.save(customer, customer._replace(**filled))


def _claimed(unclaimed: Customer, command: GetOrCreateCustomer) -> Customer:
    """The pre-created customer becomes this id, keeping what it had (and getting no defaults)."""
    update = {"id": command.customer_id, **missing_fields_filled(unclaimed, command.draft)}
    return customers.move(unclaimed, unclaimed._replace(**update))


def _created(command: GetOrCreateCustomer, stripe: StripeFactory) -> Customer:
    if command.stripe_id:
        require_stripe_customer(stripe, command.stripe_id)
    draft = command.draft
    now = clock.now_ms()
    current = catalog.load()
    starting = _starting_plans(current, command.auto_enable_plan_id)
    holdings = combined(
        holdings_of(p, current.features, now, clock.new_internal_id, True) for p in starting
    )
    customer = Customer(
        internal_id=clock.new_internal_id("cus"),
        id=command.customer_id,
        name=draft.name,
        email=draft.email,
        fingerprint=draft.fingerprint,
        metadata=draft.metadata or {},
        send_email_receipts=bool(draft.send_email_receipts),
        config=draft.config.applied_to(CustomerConfig()) if draft.config else CustomerConfig(),
        stripe_id=command.stripe_id,
        created_at=now,
        holdings=holdings,
    )
    # Held from now on: the versions' terms are frozen in the same transaction, and the
    # application's events kept in the outbox with it (never lost once the customer exists).
    going = app_events.outgoing(_told_to_the_application(customer, starting))
    in_use = [catalog.mark_in_use(p) for p in starting if not p.in_use]
    customers.create(customer, also=in_use + going.writes())
    app_events.send(going)
    return customer


def _told_to_the_application(customer: Customer, starting: list[Plan]) -> list[AppEvent]:
    """Each default plan the new customer starts with, as Autumn tells it (a customer
    without an id cannot be read back, so it is not told)."""
    if customer.id is None:
        return []
    return [
        ProductsUpdated(
            cause=customer.internal_id,
            customer_id=customer.id,
            plan_id=plan.id,
            plan_version=plan.version,
            scenario="new",
        )
        for plan in starting
    ]


def _starting_plans(current: Catalog, chosen: str | None) -> list[Plan]:
    plans = default_plans(current.plans(), chosen)
    if chosen is not None and not plans:
        raise PlanNotFound(f"No plan '{chosen}' to enable.")
    for plan in plans:
        if not plan.free:
            raise InvalidRequest(
                "Only a free plan is given without payment; attach a paid plan instead.",
                details=[{"field": "auto_enable_plan_id", "message": "not a free plan"}],
            )
    return plans


def _linked_to_stripe(
    customer: Customer, command: GetOrCreateCustomer, stripe: StripeFactory
) -> Customer:
    if customer.stripe_id:
        return customer
    if command.stripe_id:
        require_stripe_customer(stripe, command.stripe_id)
        return customers.save(customer, customer._replace(stripe_id=command.stripe_id))
    if not command.create_in_stripe:
        return customer
    # Concurrent callers all derive the same idempotency key from the internal id, so Stripe
    # creates one customer and hands every caller its id; one of them links it.
    created = stripe().customers.create(customer.internal_id, customer.id, customer.version)
    linked = customer._replace(stripe_id=created.id)
    push_contact_details(stripe, linked)
    return customers.save(customer, linked)
