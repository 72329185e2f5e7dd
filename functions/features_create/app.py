"""POST /v1/features.create"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.api.app import make_app, ok
from billing.api.body import parse
from billing.api.wire.features import CreateFeatureRequest, feature_response
from billing.observability import observed
from billing.services.catalog.features import create_feature

app = make_app()


@app.post("/v1/features.create")
def create() -> Response[str]:
    request = parse(CreateFeatureRequest, app.current_event)
    return ok(feature_response(create_feature(request.spec())))


@observed("features.create")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
