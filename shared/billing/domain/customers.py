"""The customer as the domain sees it, and the few rules that govern it."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from billing.domain.environment import Environment, environment_of
from billing.domain.holdings import Holdings
from billing.domain.keep import KEEP, Keep

__all__ = [
    "Customer",
    "CustomerChanges",
    "CustomerConfig",
    "CustomerConfigChanges",
    "CustomerDraft",
    "Environment",
    "PageQuery",
    "environment_of",
]


class CustomerConfig(BaseModel):
    """Per-customer switches, kept and answered as Autumn does."""

    model_config = ConfigDict(frozen=True)

    disable_pooled_balance: bool = False
    disable_overage_billing: bool = False

    def updated(self, changes: CustomerConfigChanges) -> CustomerConfig:
        """Only the switches the caller named change; the others keep their value."""
        return self.model_copy(update=changes.model_dump(exclude_none=True))


class CustomerConfigChanges(BaseModel):
    """The switches a caller sent; None leaves a switch as it is."""

    model_config = ConfigDict(frozen=True)

    disable_pooled_balance: bool | None = None
    disable_overage_billing: bool | None = None


class Customer(BaseModel):
    """A customer record. `id` is the application's id; None for a customer not yet claimed."""

    model_config = ConfigDict(frozen=True)

    internal_id: str
    id: str | None
    name: str | None = None
    email: str | None = None
    fingerprint: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    stripe_id: str | None = None
    send_email_receipts: bool = False
    config: CustomerConfig = CustomerConfig()
    created_at: int
    version: int = 1
    # What the customer holds: kept in its own items, never in the profile.
    holdings: Holdings = Holdings()
    # The earliest month (yyyymm) any of its usage events is in; None before the first.
    events_since: str | None = None


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
            update["config"] = customer.config.updated(self.config)
        return customer.model_copy(update=update)


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


def normalized_email(email: str) -> str:
    """Emails match case-insensitively (and without surrounding blanks) for claims."""
    return email.strip().lower()


# The largest creation time the index's zero-padded sort key can order (year 33658).
MAX_CREATED_AT = 10**15 - 1


class PageQuery(NamedTuple):
    cursor: str | None
    limit: int
    ascending: bool
    search: str | None = None
    created_from: int | None = None
    created_to: int | None = None
    linked_to_stripe: bool = False
