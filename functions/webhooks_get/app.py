"""POST /v1/webhooks.get: one endpoint (never its secret)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.api.app import make_app, ok
from billing.api.body import parse
from billing.api.wire.app_webhooks import WebhookIdRequest, webhook_response
from billing.observability import observed
from billing.services.app_webhooks.endpoints import get_webhook

app = make_app(idempotency=False)


@app.post("/v1/webhooks.get")
def get() -> Response[str]:
    request = parse(WebhookIdRequest, app.current_event)
    return ok(webhook_response(get_webhook(request.id)))


@observed("webhooks.get")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
