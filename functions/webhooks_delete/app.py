"""POST /v1/webhooks.delete: the endpoint receives nothing more (deliveries already queued
for it are dropped)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.api.app import make_app, ok
from billing.api.body import parse
from billing.api.wire.app_webhooks import WebhookIdRequest
from billing.api.wire.success import SuccessResponse
from billing.services.app_webhooks.endpoints import delete_webhook

logger = Logger()
app = make_app()


@app.post("/v1/webhooks.delete")
def delete() -> Response[str]:
    request = parse(WebhookIdRequest, app.current_event)
    delete_webhook(request.id)
    return ok(SuccessResponse(success=True))


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
