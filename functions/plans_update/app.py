"""POST /v1/plans.update: new terms on a version customers hold make a new version."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing import stripe_api
from billing.api.app import make_app, ok
from billing.api.body import parse
from billing.api.wire.plans import UpdatePlanRequest, plan_response
from billing.config import settings
from billing.observability import observed
from billing.services.catalog.plans import update_plan

app = make_app()


@app.post("/v1/plans.update")
def update() -> Response[str]:
    request = parse(UpdatePlanRequest, app.current_event)
    plan = update_plan(
        request.plan_id,
        request.changes(),
        stripe=stripe_api.get_gateway,
        force_version=request.force_version,
    )
    return ok(plan_response(plan, settings().environment))


@observed("plans.update")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
