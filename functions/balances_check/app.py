"""POST /v1/balances.check: may this customer use this feature now? (the hot path)"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.api.app import make_app, ok
from billing.api.body import parse
from billing.api.wire.balances import CheckRequest, check_response
from billing.config import settings
from billing.services.check import check

logger = Logger()
# A check with send_event deducts all or nothing atomically: a retry of a denied or
# allowed check decides again, as a fresh check would.
app = make_app(idempotency=False)


@app.post("/v1/balances.check")
def check_access() -> Response[str]:
    request = parse(CheckRequest, app.current_event)
    result = check(
        request.customer_id,
        request.feature_id,
        request.required_balance,
        send_event=request.send_event,
        properties=request.properties,
        with_preview=request.with_preview,
    )
    preview = None
    if result.preview is not None:
        # Imported here: the paywall shape is only for denied checks that ask for it.
        from billing.api.wire.preview import preview_response

        preview = preview_response(result.preview, settings().environment)
    return ok(
        check_response(
            request.customer_id,
            request.required_balance,
            result.allowed,
            result.balance,
            result.flag,
            preview,
            touched=None if result.tracked is None else result.tracked.balances,
        )
    )


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
