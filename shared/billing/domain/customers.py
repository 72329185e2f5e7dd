"""The customer as the domain sees it (what check and track read), and the few rules that
govern it. What a caller asks to change is in `customer_changes`."""

from typing import Any, NamedTuple

from billing.domain.environment import Environment, environment_of
from billing.domain.holdings import Holdings

__all__ = [
    "Customer",
    "CustomerConfig",
    "Environment",
    "PageQuery",
    "environment_of",
]


class CustomerConfig(NamedTuple):
    """Per-customer switches, kept and answered as Autumn does."""

    disable_pooled_balance: bool = False
    disable_overage_billing: bool = False


class Customer(NamedTuple):
    """A customer record. `id` is the application's id; None for a customer not yet claimed.

    A NamedTuple, like what it holds (see `billing.domain.holdings`): check and track read
    one on every call, and define the type on every cold start."""

    internal_id: str
    id: str | None
    created_at: int
    # The caller's own JSON, kept as sent.
    metadata: dict[str, Any]
    name: str | None = None
    email: str | None = None
    fingerprint: str | None = None
    stripe_id: str | None = None
    send_email_receipts: bool = False
    config: CustomerConfig = CustomerConfig()
    version: int = 1
    # What the customer holds: kept in its own items, never in the profile.
    holdings: Holdings = Holdings()
    # The earliest month (yyyymm) any of its usage events is in; None before the first.
    events_since: str | None = None


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
