"""POST /v1/customers.update: changes only the fields sent; may rename or relink."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing import stripe_api
from billing.api.app import make_app, ok
from billing.api.body import parse
from billing.api.wire.customers import UpdateCustomerRequest, customer_response
from billing.config import settings
from billing.observability import observed
from billing.services.customers.update import UpdateCustomer, update_customer

app = make_app()


@app.post("/v1/customers.update")
def update() -> Response[str]:
    request = parse(UpdateCustomerRequest, app.current_event)
    command = UpdateCustomer(
        customer_id=request.customer_id,
        changes=request.changes(),
        new_customer_id=request.new_customer_id,
    )
    customer = update_customer(command, stripe=stripe_api.get_gateway)
    return ok(customer_response(customer, settings().environment))


@observed("customers.update")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
