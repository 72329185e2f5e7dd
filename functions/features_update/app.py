"""POST /v1/features.update: changes only the fields sent; may rename an unused feature."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.api.app import make_app, ok
from billing.api.body import parse
from billing.api.wire.features import UpdateFeatureRequest, feature_response
from billing.observability import observed
from billing.services.catalog.features import update_feature

app = make_app()


@app.post("/v1/features.update")
def update() -> Response[str]:
    request = parse(UpdateFeatureRequest, app.current_event)
    feature = update_feature(request.feature_id, request.changes(), request.new_feature_id)
    return ok(feature_response(feature))


@observed("features.update")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
