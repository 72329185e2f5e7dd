"""POST /v1/plans.delete: deletes a plan nobody holds; archives one that customers hold."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.api.app import make_app, ok
from billing.api.body import parse
from billing.api.wire.plans import DeletePlanRequest
from billing.api.wire.success import SuccessResponse
from billing.observability import observed
from billing.services.catalog.plans import delete_plan

app = make_app()


@app.post("/v1/plans.delete")
def delete() -> Response[str]:
    request = parse(DeletePlanRequest, app.current_event)
    delete_plan(request.plan_id)
    return ok(SuccessResponse(success=True))


@observed("plans.delete")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
