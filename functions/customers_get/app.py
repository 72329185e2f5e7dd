"""POST /v1/customers.get"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.api.app import make_app, ok
from billing.api.body import parse
from billing.api.wire.customers import GetCustomerRequest, customer_response
from billing.api.wire.invoices import invoice_response
from billing.config import settings
from billing.observability import observed
from billing.services.billing.invoices import invoices_to_embed
from billing.services.customers.expand import features_to_embed
from billing.services.customers.get import get_customer

app = make_app(idempotency=False)


@app.post("/v1/customers.get")
def get() -> Response[str]:
    request = parse(GetCustomerRequest, app.current_event)
    customer = get_customer(request.customer_id)
    features = features_to_embed(customer, request.expand)
    invoices = [invoice_response(r) for r in invoices_to_embed(customer, request.expand)]
    return ok(
        customer_response(customer, settings().environment, request.expand, features, invoices)
    )


@observed("customers.get")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
