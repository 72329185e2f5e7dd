"""POST /v1/plans.list: latest versions of the plans not archived, unless asked for more."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.api.app import make_app, ok
from billing.api.body import parse
from billing.api.wire.plans import ListPlansRequest, PlanListResponse, plan_response
from billing.config import settings
from billing.observability import observed
from billing.services.catalog.plans import list_plans

app = make_app(idempotency=False)


@app.post("/v1/plans.list")
def list_all() -> Response[str]:
    request = parse(ListPlansRequest, app.current_event)
    plans = list_plans(request.include_archived, request.all_versions)
    env = settings().environment
    return ok(PlanListResponse(list=[plan_response(plan, env) for plan in plans]))


@observed("plans.list")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
