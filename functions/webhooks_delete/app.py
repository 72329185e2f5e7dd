"""POST /v1/webhooks.delete: the endpoint receives nothing more (deliveries already queued
for it are dropped)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.api.app import make_app, ok
from billing.api.body import parse
from billing.api.wire.app_webhooks import WebhookIdRequest
from billing.api.wire.success import SuccessResponse
from billing.observability import observed
from billing.services.app_webhooks.endpoints import delete_webhook

app = make_app()


@app.post("/v1/webhooks.delete")
def delete() -> Response[str]:
    request = parse(WebhookIdRequest, app.current_event)
    delete_webhook(request.id)
    return ok(SuccessResponse(success=True))


@observed("webhooks.delete")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
