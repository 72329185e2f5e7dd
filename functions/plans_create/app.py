"""POST /v1/plans.create: a plan, validated against the features, mirrored in Stripe if priced."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing import stripe_api
from billing.api.app import make_app, ok
from billing.api.body import parse
from billing.api.wire.plans import CreatePlanRequest, plan_response
from billing.config import settings
from billing.observability import observed
from billing.services.catalog.plans import create_plan

app = make_app()


@app.post("/v1/plans.create")
def create() -> Response[str]:
    request = parse(CreatePlanRequest, app.current_event)
    plan = request.plan()
    return ok(
        plan_response(create_plan(plan, stripe=stripe_api.get_gateway), settings().environment)
    )


@observed("plans.create")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
