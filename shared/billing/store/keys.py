"""Key builders for the single table. Every item's PK starts with its entity prefix."""

from __future__ import annotations

PROFILE = "PROFILE"
SUBSCRIPTION = "SUB#"
GRANT = "GRANT#"
FLAG = "FLAG#"
CUSTOMERS_INDEX_PK = "CUSTOMERS"


def customer_pk(customer_id: str | None, internal_id: str) -> str:
    """Customers live under the application's id; an id-less customer under its internal id."""
    if customer_id is None:
        return f"ANON#{internal_id}"
    return f"CUS#{customer_id}"


def customer_id_of_pk(pk: str) -> str | None:
    """The application's id of the customer under this pk; None for an id-less customer."""
    return pk.removeprefix("CUS#") if pk.startswith("CUS#") else None


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
    return f"HOLDS#{feature_id}"
