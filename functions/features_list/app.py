"""POST /v1/features.list: every feature, archived ones included, oldest first."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.api.app import make_app, ok
from billing.api.body import parse
from billing.api.wire.features import FeatureListResponse, feature_response
from billing.api.wire.no_fields import NoFieldsRequest
from billing.observability import observed
from billing.services.catalog.features import list_features

app = make_app(idempotency=False)


@app.post("/v1/features.list")
def list_all() -> Response[str]:
    parse(NoFieldsRequest, app.current_event)  # no fields: any field is a 400 naming it
    return ok(FeatureListResponse(list=[feature_response(f) for f in list_features()]))


@observed("features.list")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
