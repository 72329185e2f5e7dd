"""customers.list: cursor pages in creation order, optionally filtered."""

from __future__ import annotations

from billing.domain.customers import Customer
from billing.store import customers
from billing.store.customers import PageQuery


def list_customers(query: PageQuery) -> tuple[list[Customer], str | None]:
    return customers.page(query)
