"""What a caller asks to change about a customer: a draft at creation, changes on update.

Kept apart from `customers` so that the hot path (check, track) never builds these models.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from pydantic import BaseModel, ConfigDict

from billing.domain.customers import Customer, CustomerConfig
from billing.domain.keep import KEEP, Keep


class CustomerConfigChanges(BaseModel):
    """The switches a caller sent; None leaves a switch as it is."""

    model_config = ConfigDict(frozen=True)

    disable_pooled_balance: bool | None = None
    disable_overage_billing: bool | None = None

    def applied_to(self, config: CustomerConfig) -> CustomerConfig:
        """Only the switches the caller named change; the others keep their value."""
        return config._replace(**self.model_dump(exclude_none=True))


@dataclass(frozen=True)
class CustomerChanges:
    """What customers.update changes. A field left as KEEP keeps its value; None clears it."""

    name: str | Keep | None = KEEP
    email: str | Keep | None = KEEP
    fingerprint: str | Keep | None = KEEP
    metadata: dict[str, Any] | Keep = KEEP
    stripe_id: str | Keep | None = KEEP
    send_email_receipts: bool | Keep = KEEP
    # Only the switches named change (see CustomerConfig.updated).
    config: CustomerConfigChanges | None = None

    def applied_to(self, customer: Customer) -> Customer:
        named = (f.name for f in fields(self) if f.name != "config")
        update = {name: getattr(self, name) for name in named if getattr(self, name) is not KEEP}
        if self.config is not None:
            update["config"] = self.config.applied_to(customer.config)
        return customer._replace(**update)


class CustomerDraft(BaseModel):
    """What a caller may say about a customer when creating it or filling it in."""

    model_config = ConfigDict(frozen=True)

    name: str | None = None
    email: str | None = None
    fingerprint: str | None = None
    metadata: dict[str, Any] | None = None
    send_email_receipts: bool | None = None
    config: CustomerConfigChanges | None = None


def missing_fields_filled(customer: Customer, draft: CustomerDraft) -> dict[str, Any]:
    """The fields get_or_create may fill on an existing customer: only those still empty.

    An existing customer is otherwise returned unchanged, so a caller with stale data
    can never overwrite what another caller set.
    """
    filled: dict[str, Any] = {}
    if not customer.name and draft.name:
        filled["name"] = draft.name
    if not customer.email and draft.email:
        filled["email"] = draft.email
    return filled
