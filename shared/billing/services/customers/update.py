"""customers.update: change what the caller names, rename, relink; Stripe follows."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from billing.domain.customers import Customer, CustomerConfigChanges
from billing.services.customers.get import get_customer
from billing.services.customers.stripe_sync import (
    contact_details_changed,
    push_contact_details,
    require_stripe_customer,
)
from billing.services.retry import on_conflict
from billing.store import customers
from billing.stripe_api import StripeFactory


class UpdateCustomer(BaseModel):
    model_config = ConfigDict(frozen=True)

    customer_id: str
    # Only the fields the caller sent; a None value clears the field.
    changes: dict[str, Any]
    new_customer_id: str | None = None
    config: CustomerConfigChanges | None = None


def update_customer(command: UpdateCustomer, stripe: StripeFactory) -> Customer:
    new_stripe_id = command.changes.get("stripe_id")

    def attempt() -> Customer:
        current = get_customer(command.customer_id)
        wanted = current.model_copy(update=command.changes)
        if command.config is not None:
            wanted = wanted.model_copy(update={"config": current.config.updated(command.config)})
        if new_stripe_id and new_stripe_id != current.stripe_id:
            require_stripe_customer(stripe, new_stripe_id)
        if command.new_customer_id and command.new_customer_id != current.id:
            saved = customers.move(
                current, wanted.model_copy(update={"id": command.new_customer_id})
            )
        elif wanted != current:
            saved = customers.save(current, wanted)
        else:
            return current
        if contact_details_changed(current, saved) or saved.stripe_id != current.stripe_id:
            push_contact_details(stripe, saved)
        return saved

    return on_conflict(attempt)
