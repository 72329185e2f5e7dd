"""POST /v1/billing.preview_update: what billing.update would do with the same request and
what it would invoice now (a cancel's credit for the unused time, the prorations of new
quantities); nothing changes (no Stripe or table writes)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing import stripe_api
from billing.api.app import make_app, ok
from billing.api.body import parse
from billing.api.wire.preview_update import PreviewUpdateRequest, preview_update_response
from billing.config import settings
from billing.observability import observed
from billing.services.billing.preview_update import preview_update

app = make_app(idempotency=False)  # a preview changes nothing: nothing to replay


@app.post("/v1/billing.preview_update")
def preview_update_plan() -> Response[str]:
    request = parse(PreviewUpdateRequest, app.current_event)
    preview = preview_update(request.command(), stripe=stripe_api.get_gateway)
    return ok(preview_update_response(preview, settings().environment))


@observed("billing.preview_update")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
