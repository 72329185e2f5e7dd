"""POST /webhooks/stripe: Stripe's webhook events, verified by their signature (no Bearer
key), each applied once however often Stripe delivers it."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing import stripe_api
from billing.api.app import make_unauthenticated_app, ok
from billing.api.body import raw_body
from billing.api.wire.webhooks import WebhookReceived
from billing.services.stripe_events.receive import Delivery, receive

logger = Logger()
app = make_unauthenticated_app()

# Stripe's events are far below this; a larger body is refused (413) before any parsing.
MAX_EVENT_BYTES = 1024 * 1024


@app.post("/webhooks/stripe")
def stripe_webhook() -> Response[str]:
    event = app.current_event
    delivery = Delivery(
        payload=raw_body(event, limit=MAX_EVENT_BYTES),
        signature=event.headers.get("stripe-signature"),
    )
    outcome = receive(delivery, stripe=stripe_api.get_gateway)
    logger.info("stripe event received", extra={"outcome": outcome.value})
    return ok(WebhookReceived(received=True, outcome=outcome.value))


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
