"""POST /v1/features.delete: deletes an unused feature, archives one that is referenced."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.api.app import make_app, ok
from billing.api.body import parse
from billing.api.wire.features import FeatureIdRequest
from billing.api.wire.success import SuccessResponse
from billing.observability import observed
from billing.services.catalog.features import delete_feature

app = make_app()


@app.post("/v1/features.delete")
def delete() -> Response[str]:
    request = parse(FeatureIdRequest, app.current_event)
    delete_feature(request.feature_id)
    return ok(SuccessResponse(success=True))


@observed("features.delete")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
