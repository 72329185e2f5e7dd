"""POST /v1/webhooks.list: every endpoint, oldest first."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.api.app import make_app, ok
from billing.api.body import parse
from billing.api.wire.app_webhooks import WebhookListResponse, webhook_response
from billing.api.wire.no_fields import NoFieldsRequest
from billing.observability import observed
from billing.services.app_webhooks.endpoints import list_webhooks

app = make_app(idempotency=False)


@app.post("/v1/webhooks.list")
def list_all() -> Response[str]:
    parse(NoFieldsRequest, app.current_event)  # no fields: any field is a 400 naming it
    return ok(WebhookListResponse(list=[webhook_response(e) for e in list_webhooks()]))


@observed("webhooks.list")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
