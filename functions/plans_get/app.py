"""POST /v1/plans.get: the latest version, or the one asked for."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.api.app import make_app, ok
from billing.api.body import parse
from billing.api.wire.plans import GetPlanRequest, plan_response
from billing.config import settings
from billing.observability import observed
from billing.services.catalog.plans import get_plan

app = make_app(idempotency=False)


@app.post("/v1/plans.get")
def get() -> Response[str]:
    request = parse(GetPlanRequest, app.current_event)
    return ok(plan_response(get_plan(request.plan_id, request.version), settings().environment))


@observed("plans.get")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
