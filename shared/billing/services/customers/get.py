"""customers.get, and the one way every use case loads a customer: found, or 404."""

from __future__ import annotations

from billing.domain.customers import Customer
from billing.domain.errors import CustomerNotFound
from billing.store import customers


def get_customer(customer_id: str) -> Customer:
    customer = customers.load(customer_id)
    if customer is None:
        raise CustomerNotFound
    return customer
