"""POST /v1/balances.create: a grant (or, for a boolean feature, a flag) given by hand."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.api.app import make_app, ok
from billing.api.body import parse
from billing.api.wire.balances import CreateBalanceRequest
from billing.api.wire.success import SuccessResponse
from billing.domain.terms import Reset
from billing.observability import observed
from billing.services.balances.grants import NewBalance, create_balance

app = make_app()


@app.post("/v1/balances.create")
def create() -> Response[str]:
    request = parse(CreateBalanceRequest, app.current_event)
    create_balance(
        NewBalance(
            customer_id=request.customer_id,
            feature_id=request.feature_id,
            included=request.included_grant,
            unlimited=request.unlimited,
            reset=None if request.reset is None else Reset(**request.reset.model_dump()),
            expires_at=request.expires_at,
            next_reset_at=request.next_reset_at,
            balance_id=request.balance_id,
        )
    )
    return ok(SuccessResponse(success=True))


@observed("balances.create")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
