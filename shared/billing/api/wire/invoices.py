"""invoices.list, and the invoices `customers.get` embeds with `expand: ["invoices"]`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import Field, model_validator

from billing.api.wire.balance_rules import refuse_entities
from billing.api.wire.common import Id, WireRequest, WireResponse
from billing.store.invoices import InvoiceRecord

InvoiceStatus = Literal["draft", "open", "void", "paid", "uncollectible"]


class ListInvoicesRequest(WireRequest):
    # Invoices are kept per customer (as usage events are): a listing across customers
    # would need an index every invoice of every customer writes to.
    customer_id: Id
    start_cursor: str | None = None
    limit: int = Field(default=50, ge=1, le=100)
    entity_id: Id | None = None
    invoice_id: Id | None = None
    stripe_id: Id | None = None
    status: list[InvoiceStatus] | None = None
    processor_types: list[Literal["stripe", "revenuecat"]] | None = None

    @model_validator(mode="after")
    def _no_entities(self) -> ListInvoicesRequest:
        refuse_entities(self.entity_id)
        return self


class InvoiceResponse(WireResponse):
    """An invoice as a customer answer embeds it."""

    plan_ids: list[str]
    stripe_id: str
    status: str
    total: Decimal
    currency: str
    created_at: int
    processor_type: Literal["stripe"] = "stripe"
    hosted_invoice_url: str | None


class ListedInvoiceResponse(InvoiceResponse):
    """An invoice as invoices.list answers it (our id is Stripe's)."""

    id: str
    customer_id: str | None
    entity_id: str | None = None
    amount_paid: Decimal | None
    refunded_amount: Decimal = Decimal(0)
    items: list[dict[str, object]] = Field(default_factory=list)


class InvoiceListResponse(WireResponse):
    list: list[ListedInvoiceResponse]
    next_cursor: str | None


def invoice_response(record: InvoiceRecord) -> InvoiceResponse:
    return InvoiceResponse(
        plan_ids=list(record.plan_ids),
        stripe_id=record.stripe_id,
        status=record.status,
        total=record.total,
        currency=record.currency,
        created_at=record.created_at,
        hosted_invoice_url=record.hosted_invoice_url,
    )


def listed_invoice_response(
    record: InvoiceRecord, customer_id: str | None
) -> ListedInvoiceResponse:
    return ListedInvoiceResponse(
        **dict(invoice_response(record)),
        id=record.stripe_id,
        customer_id=customer_id,
        amount_paid=record.total if record.status == "paid" else Decimal(0),
    )


# What `invoice.finalized` sends, in the order it always has: invoices.list's answer but its
# items (the event tells of the invoice, not of its lines).
_FINALIZED_FIELDS = (
    "id",
    "stripe_id",
    "customer_id",
    "entity_id",
    "plan_ids",
    "status",
    "total",
    "amount_paid",
    "refunded_amount",
    "currency",
    "created_at",
    "hosted_invoice_url",
    "processor_type",
)


def finalized_invoice_data(record: InvoiceRecord) -> dict[str, Any]:
    """The data of an `invoice.finalized` event: the invoice as invoices.list answers it."""
    listed = listed_invoice_response(record, record.customer_id).model_dump()
    return {name: listed[name] for name in _FINALIZED_FIELDS}
