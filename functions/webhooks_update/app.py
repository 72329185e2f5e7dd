"""POST /v1/webhooks.update: change an endpoint's URL, events, description or whether it is
disabled; what the request leaves out is kept."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.api.app import make_app, ok
from billing.api.body import parse
from billing.api.wire.app_webhooks import UpdateWebhookRequest, webhook_response
from billing.observability import observed
from billing.services.app_webhooks.endpoints import update_webhook

app = make_app()


@app.post("/v1/webhooks.update")
def update() -> Response[str]:
    request = parse(UpdateWebhookRequest, app.current_event)
    return ok(webhook_response(update_webhook(request.command())))


@observed("webhooks.update")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
