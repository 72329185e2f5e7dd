"""POST /v1/billing.setup_payment: a link to Stripe's Checkout page where the customer saves
a card (nothing charged); with `plan_id`, the plan is attached once the card is saved."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing import stripe_api
from billing.api.app import make_app, ok
from billing.api.body import parse
from billing.api.wire.setup_payment import SetupPaymentRequest, setup_payment_response
from billing.observability import observed
from billing.services.billing.setup_payment import setup_payment

app = make_app()


@app.post("/v1/billing.setup_payment")
def setup_card() -> Response[str]:
    request = parse(SetupPaymentRequest, app.current_event)
    session = setup_payment(request.command(), stripe=stripe_api.get_gateway)
    return ok(setup_payment_response(session))


@observed("billing.setup_payment")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
