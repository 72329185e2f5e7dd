"""POST /v1/customers.delete: the customer and all it holds; in Stripe too if asked."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing import stripe_api
from billing.api.app import make_app, ok
from billing.api.body import parse
from billing.api.wire.customers import DeleteCustomerRequest
from billing.api.wire.success import SuccessResponse
from billing.observability import observed
from billing.services.customers.delete import delete_customer

app = make_app()


@app.post("/v1/customers.delete")
def delete() -> Response[str]:
    request = parse(DeleteCustomerRequest, app.current_event)
    delete_customer(request.customer_id, request.delete_in_stripe, stripe=stripe_api.get_gateway)
    return ok(SuccessResponse(success=True))


@observed("customers.delete")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
