"""POST /v1/customers.get_or_create: the customer with this id, created on first sight."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing import stripe_api
from billing.api.app import make_app, ok
from billing.api.body import parse
from billing.api.wire.customers import GetOrCreateCustomerRequest, customer_response
from billing.config import settings
from billing.observability import observed
from billing.services.customers.expand import features_to_embed
from billing.services.customers.get_or_create import GetOrCreateCustomer, get_or_create

app = make_app()


@app.post("/v1/customers.get_or_create")
def get_or_create_customer() -> Response[str]:
    request = parse(GetOrCreateCustomerRequest, app.current_event)
    command = GetOrCreateCustomer(
        customer_id=request.customer_id,
        draft=request.draft(),
        stripe_id=request.stripe_id,
        create_in_stripe=bool(request.create_in_stripe),
        auto_enable_plan_id=request.auto_enable_plan_id,
    )
    customer = get_or_create(command, stripe=stripe_api.get_gateway)
    features = features_to_embed(customer, request.expand)
    return ok(customer_response(customer, settings().environment, request.expand, features))


@observed("customers.get_or_create")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
