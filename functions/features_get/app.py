"""POST /v1/features.get"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.api.app import make_app, ok
from billing.api.body import parse
from billing.api.wire.features import FeatureIdRequest, feature_response
from billing.observability import observed
from billing.services.catalog.features import get_feature

app = make_app(idempotency=False)


@app.post("/v1/features.get")
def get() -> Response[str]:
    request = parse(FeatureIdRequest, app.current_event)
    return ok(feature_response(get_feature(request.feature_id)))


@observed("features.get")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
