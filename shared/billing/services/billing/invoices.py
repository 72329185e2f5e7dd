"""A customer's Stripe invoices, as the webhooks kept them (`services.billing.renewals`)."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from billing.domain.customers import Customer
from billing.services.customers.get import get_customer
from billing.store import invoices
from billing.store.invoices import InvoiceRecord

# What `customers.get` embeds with `expand: ["invoices"]`: the newest ones.
EMBEDDED = 100


def list_invoices(
    customer_id: str,
    limit: int,
    cursor: str | None,
    statuses: Collection[str] | None = None,
    stripe_id: str | None = None,
    processors: Collection[str] | None = None,
) -> tuple[list[InvoiceRecord], str | None]:
    """The customer's invoices that pass the filters, newest first, in full pages (see
    `store.invoices.page` for when one is shorter)."""
    customer = get_customer(customer_id)
    if processors is not None and "stripe" not in processors:
        return [], None  # every invoice kept here is Stripe's
    if not statuses and stripe_id is None:
        return invoices.page(customer.internal_id, limit, cursor)

    def keep(record: InvoiceRecord) -> bool:
        return (not statuses or record.status in statuses) and (
            stripe_id is None or record.stripe_id == stripe_id
        )

    return invoices.page(customer.internal_id, limit, cursor, keep)


def invoices_to_embed(customer: Customer, expand: Iterable[str] | None) -> list[InvoiceRecord]:
    """The customer's newest invoices when `expand` names them (read only then)."""
    if not expand or "invoices" not in expand:
        return []
    return invoices.page(customer.internal_id, EMBEDDED, None)[0]
