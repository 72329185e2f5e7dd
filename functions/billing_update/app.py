"""POST /v1/billing.update: change a plan the customer holds.

`cancel_action` cancels it now or at its period end, or takes a cancellation back;
`feature_quantities` buys other quantities of its prepaid items (granted once paid); a plan
the customer does not hold is a plan change, done as billing.attach does it.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing import stripe_api
from billing.api.app import make_app, ok
from billing.api.body import parse
from billing.api.wire.update import UpdateRequest, update_response
from billing.observability import observed
from billing.services.billing.update import update

app = make_app()


@app.post("/v1/billing.update")
def update_plan() -> Response[str]:
    request = parse(UpdateRequest, app.current_event)
    result = update(request.command(), stripe=stripe_api.get_gateway)
    return ok(update_response(result))


@observed("billing.update")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
