"""POST /v1/balances.check: may this customer use this feature now? (the hot path)"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.api.app import idempotency_key, json_text, make_app, ok, replayed
from billing.api.body import canonical, parse
from billing.api.wire.check import CheckRequest, CheckResponse, check_response
from billing.config import settings
from billing.observability import count, observed
from billing.services.balances.check import CheckResult, SentEventKey, check
from billing.services.idempotency import fingerprint

# A check with send_event keeps its Idempotency-Key in the transaction that deducts (as
# track does); a check without it changes nothing, so it has nothing to make idempotent.
app = make_app(idempotency=False)


@app.post("/v1/balances.check")
def check_access() -> Response[str]:
    event = app.current_event
    request = parse(CheckRequest, event)
    key = idempotency_key(app) if request.send_event else None
    result = check(
        request.customer_id,
        request.feature_id,
        request.required_balance,
        send_event=request.send_event,
        properties=request.properties,
        with_preview=request.with_preview,
        keyed=None
        if key is None
        else SentEventKey(
            key,
            fingerprint(event.raw_path, canonical(event)),
            lambda allowed: json_text(answer(request, allowed)),
        ),
    )
    if result.replayed is not None:
        return replayed(result.replayed)
    count("Checks", outcome="allowed" if result.allowed else "denied")
    return ok(answer(request, result))


def answer(request: CheckRequest, result: CheckResult) -> CheckResponse:
    preview = None
    if result.preview is not None:
        # Imported here: the paywall shape is only for denied checks that ask for it.
        from billing.api.wire.preview import preview_response

        preview = preview_response(result.preview, settings().environment)
    return check_response(
        request.customer_id,
        request.required_balance,
        result.allowed,
        result.balance,
        result.flag,
        preview,
        related=None if result.tracked is None else result.tracked.related,
    )


@observed("balances.check", traced=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
