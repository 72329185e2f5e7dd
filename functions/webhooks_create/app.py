"""POST /v1/webhooks.create: a new endpoint for our events, with its signing secret (shown
only in this answer)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.api.app import make_app, ok
from billing.api.body import parse
from billing.api.wire.app_webhooks import CreateWebhookRequest, created_webhook_response
from billing.observability import observed
from billing.services.app_webhooks.endpoints import create_webhook

app = make_app()


@app.post("/v1/webhooks.create")
def create() -> Response[str]:
    request = parse(CreateWebhookRequest, app.current_event)
    return ok(created_webhook_response(create_webhook(request.command())))


@observed("webhooks.create")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
