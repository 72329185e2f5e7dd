"""POST /v1/customers.advance_test_clock: moves the customer's Stripe test clock forward
(test mode only); what happens on the way reaches us through Stripe's webhooks."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing import stripe_api
from billing.api.app import make_app, ok
from billing.api.body import parse
from billing.api.wire.test_clocks import AdvanceTestClockRequest, test_clock_response
from billing.observability import observed
from billing.services.customers.test_clock import advance_test_clock

app = make_app()


@app.post("/v1/customers.advance_test_clock")
def advance() -> Response[str]:
    request = parse(AdvanceTestClockRequest, app.current_event)
    clock = advance_test_clock(request.command(), stripe=stripe_api.get_gateway)
    return ok(test_clock_response(clock))


@observed("customers.advance_test_clock")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
