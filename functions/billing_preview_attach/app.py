"""POST /v1/billing.preview_attach: what billing.attach would do with the same request and
what it would cost, now and next cycle; nothing changes (no Stripe or table writes)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing import stripe_api
from billing.api.app import make_app, ok
from billing.api.body import parse
from billing.api.wire.preview_attach import PreviewAttachRequest, preview_attach_response
from billing.config import settings
from billing.observability import observed
from billing.services.billing.preview_attach import preview_attach

app = make_app(idempotency=False)  # a preview changes nothing: nothing to replay


@app.post("/v1/billing.preview_attach")
def preview_attach_plan() -> Response[str]:
    request = parse(PreviewAttachRequest, app.current_event)
    preview = preview_attach(request.command(), stripe=stripe_api.get_gateway)
    return ok(preview_attach_response(preview, settings().environment))


@observed("billing.preview_attach")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
