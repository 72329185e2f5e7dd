"""customers.list: cursor pages in creation order, optionally filtered."""

from __future__ import annotations

from billing.domain.customers import Customer, PageQuery
from billing.store import customers


def list_customers(query: PageQuery) -> tuple[list[Customer], str | None]:
    return customers.page(query)
