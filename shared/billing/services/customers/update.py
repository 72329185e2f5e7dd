"""customers.update: change what the caller names, rename, relink; Stripe follows."""

from __future__ import annotations

from dataclasses import dataclass

from billing.domain.customer_changes import CustomerChanges
from billing.domain.customers import Customer
from billing.services.customers.get import get_customer
from billing.services.customers.stripe_sync import (
    contact_details_changed,
    push_contact_details,
    require_stripe_customer,
)
from billing.services.retry import on_conflict
from billing.store import customers
from billing.stripe_api import StripeFactory


@dataclass(frozen=True)
class UpdateCustomer:
    customer_id: str
    changes: CustomerChanges
    new_customer_id: str | None = None


def update_customer(command: UpdateCustomer, stripe: StripeFactory) -> Customer:
    new_stripe_id = command.changes.stripe_id

    def attempt() -> Customer:
        current = get_customer(command.customer_id)
        wanted = command.changes.applied_to(current)
        if isinstance(new_stripe_id, str) and new_stripe_id != current.stripe_id:
            require_stripe_customer(stripe, new_stripe_id)
        if command.new_customer_id and command.new_customer_id != current.id:
            saved = customers.move(current, wanted._replace(id=command.new_customer_id))
        elif wanted != current:
            saved = customers.save(current, wanted)
        else:
            return current
        if contact_details_changed(current, saved) or saved.stripe_id != current.stripe_id:
            push_contact_details(stripe, saved)
        return saved

    return on_conflict(attempt)
