"""POST /v1/invoices.list: a customer's Stripe invoices, newest first, in cursor pages."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.api.app import make_app, ok
from billing.api.body import parse
from billing.api.wire.invoices import (
    InvoiceListResponse,
    ListInvoicesRequest,
    listed_invoice_response,
)
from billing.observability import observed
from billing.services.billing.invoices import list_invoices

app = make_app(idempotency=False)


@app.post("/v1/invoices.list")
def list_page() -> Response[str]:
    request = parse(ListInvoicesRequest, app.current_event)
    found, cursor = list_invoices(
        request.customer_id,
        request.limit,
        request.start_cursor,
        statuses=request.status,
        stripe_id=request.stripe_id or request.invoice_id,
        processors=request.processor_types,
    )
    return ok(
        InvoiceListResponse(
            list=[listed_invoice_response(r, request.customer_id) for r in found],
            next_cursor=cursor,
        )
    )


@observed("invoices.list")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
