"""POST /v1/billing.attach: give a customer a plan, granted once it is paid for.

A free plan is granted at once; a paid one answers a Checkout `payment_url`, or is charged
to the card on file (a card that needs the customer answers `required_action`).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing import stripe_api
from billing.api.app import make_app, ok
from billing.api.body import parse
from billing.api.wire.attach import AttachRequest, attach_response
from billing.services.billing.attach import attach

logger = Logger()
app = make_app()


@app.post("/v1/billing.attach")
def attach_plan() -> Response[str]:
    request = parse(AttachRequest, app.current_event)
    result = attach(request.command(), stripe=stripe_api.get_gateway)
    return ok(attach_response(result))


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
