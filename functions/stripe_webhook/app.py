"""POST /webhooks/stripe: Stripe's webhook events, verified by their signature (no Bearer
key), each applied once however often Stripe delivers it."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing import stripe_api
from billing.api.app import make_unauthenticated_app, ok
from billing.api.body import raw_body
from billing.api.wire.webhooks import WebhookReceived
from billing.domain.errors import StripeEventInProgress
from billing.observability import count, logger, observed
from billing.services.stripe_events.receive import Delivery, receive

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
    try:
        outcome = receive(delivery, stripe=stripe_api.get_gateway)
    except StripeEventInProgress:
        raise  # another delivery holds the event: Stripe's next one gets its outcome
    except Exception as error:
        # Stripe will deliver it again; many of these mean a wrong secret or a broken handler.
        count("StripeEventFailures")
        logger.warning("stripe event failed", extra={"error_type": type(error).__name__})
        raise
    logger.info("stripe event received", extra={"outcome": outcome.value})
    return ok(WebhookReceived(received=True, outcome=outcome.value))


@observed("stripe.webhook")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
