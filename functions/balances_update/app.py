"""POST /v1/balances.update: set remaining, add to it, set usage, or change the grant."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.api.app import make_app, ok
from billing.api.body import parse
from billing.api.wire.balances import UpdateBalanceRequest
from billing.api.wire.success import SuccessResponse
from billing.observability import observed
from billing.services.balances.grants import BalanceChange, update_balance

app = make_app()


@app.post("/v1/balances.update")
def update() -> Response[str]:
    request = parse(UpdateBalanceRequest, app.current_event)
    update_balance(
        BalanceChange(
            customer_id=request.customer_id,
            feature_id=request.feature_id,
            balance_id=request.balance_id,
            remaining=request.remaining,
            add_to_balance=request.add_to_balance,
            usage=request.usage,
            included=request.included_grant,
            interval=request.interval,
            next_reset_at=request.next_reset_at,
            expires_at=request.expires_at,
        )
    )
    return ok(SuccessResponse(success=True))


@observed("balances.update")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
