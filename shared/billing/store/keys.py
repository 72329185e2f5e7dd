"""Key builders for the single table. Every item's PK starts with its entity prefix."""

from __future__ import annotations

from datetime import UTC, datetime

PROFILE = "PROFILE"
SUBSCRIPTION = "SUB#"
GRANT = "GRANT#"
FLAG = "FLAG#"
CUSTOMERS_INDEX_PK = "CUSTOMERS"
# In a customer's partition: the earliest month its usage events are in.
EVENTS_SINCE = "EVENTS"


def customer_pk(customer_id: str | None, internal_id: str) -> str:
    """Customers live under the application's id; an id-less customer under its internal id."""
    if customer_id is None:
        return f"ANON#{internal_id}"
    return f"CUS#{customer_id}"


def email_guard_pk(normalized_email: str) -> str:
    """One id-less customer per email: the guard that makes claims and creation exclusive."""
    return f"EMAIL#{normalized_email}"


def stripe_customer_pk(stripe_id: str) -> str:
    """One customer per Stripe customer."""
    return f"STRIPE_CUS#{stripe_id}"


def idempotency_pk(key: str) -> str:
    return f"IDEM#{key}"


def customers_index_sk(created_at: int, internal_id: str) -> str:
    # Zero-padded so the string order of the index is the creation order.
    return f"{created_at:015d}#{internal_id}"


def subscription_sk(plan_id: str, subscription_id: str) -> str:
    return f"{SUBSCRIPTION}{plan_id}#{subscription_id}"


def grant_sk(feature_id: str, grant_id: str) -> str:
    return f"{GRANT}{feature_id}#{grant_id}"


def flag_sk(feature_id: str, flag_id: str) -> str:
    return f"{FLAG}{feature_id}#{flag_id}"


def feature_holder_pk(feature_id: str) -> str:
    """Index GSI2: the customers holding a grant or flag of this feature."""
    return f"HOLDS#{feature_id}"


def event_month(timestamp_ms: int) -> str:
    """The month (yyyymm, UTC) whose partition holds an event of this time."""
    return datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC).strftime("%Y%m")


def events_pk(owner: str, month: str) -> str:
    """A customer's usage events of one month (yyyymm), under its internal id: a rename keeps
    them, and a customer re-created under the same id starts with none."""
    return f"EVT#{owner}#{month}"


def applied_pk(owner: str) -> str:
    """The ids of a customer's queued uses already applied (by queue minute)."""
    return f"APPLIED#{owner}"
