"""POST /v1/billing.open_customer_portal: a link to Stripe's customer portal, where the
customer sees its subscriptions, invoices and cards, cancels or changes its card."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing import stripe_api
from billing.api.app import make_app, ok
from billing.api.body import parse
from billing.api.wire.portal import OpenPortalRequest, portal_response
from billing.observability import observed
from billing.services.billing.portal import open_portal

app = make_app()


@app.post("/v1/billing.open_customer_portal")
def open_customer_portal() -> Response[str]:
    request = parse(OpenPortalRequest, app.current_event)
    session = open_portal(request.command(), stripe=stripe_api.get_gateway)
    return ok(portal_response(session))


@observed("billing.open_customer_portal")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
