"""POST /v1/customers.list: cursor pages, newest first unless asked otherwise."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.api.app import make_app, ok
from billing.api.body import parse
from billing.api.wire.customers import ListCustomersRequest, customer_page
from billing.config import settings
from billing.observability import observed
from billing.services.customers.list import list_customers

app = make_app(idempotency=False)


@app.post("/v1/customers.list")
def list_page() -> Response[str]:
    request = parse(ListCustomersRequest, app.current_event)
    customers, next_cursor = list_customers(request.page_query())
    return ok(customer_page(customers, next_cursor, settings().environment))


@observed("customers.list")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
