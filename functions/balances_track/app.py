"""POST /v1/balances.track: record usage and deduct it (the hot path).

The Idempotency-Key header and the body's `idempotency_key` (two independent claims, as in
Autumn) are kept in the same transaction as the deduction, not by the shared middleware:
one write call, and a retry under either key replays the first answer. With `async: true`
the use is queued for the usage worker and the answer is a 202 without a balance.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.api.app import idempotency_claims, json_text, make_app, ok, replayed
from billing.api.body import canonical, parse
from billing.api.wire.track import TrackRequest, track_response
from billing.observability import count, observed
from billing.services.balances.track import TrackResult, Usage, track
from billing.services.idempotency import fingerprint

app = make_app(idempotency=False)


@app.post("/v1/balances.track")
def track_usage() -> Response[str]:
    event = app.current_event
    request = parse(TrackRequest, event)
    claims = idempotency_claims(app, request.idempotency_key)
    use = Usage(
        customer_id=request.customer_id,
        feature_id=request.feature_id,
        event_name=request.event_name,
        value=request.value,
        properties=request.properties or {},
        timestamp=request.timestamp,
        overage=request.overage_behavior,
        idempotency_key=claims[0] if claims else None,
        more_keys=claims[1:],
        fingerprint=fingerprint(event.raw_path, canonical(event)),
    )

    if request.async_:
        # Imported here: the queue's client, message and answer are only for async tracks.
        from billing.api.wire.queued_track import QueuedTrackResponse
        from billing.services.balances.track_later import track_later

        queued = QueuedTrackResponse(
            customer_id=request.customer_id, value=request.value, event_name=request.event_name
        )
        first = track_later(use, json_text(queued))
        if first is None:
            count("Tracks", outcome="queued")
        return ok(queued, status=202) if first is None else replayed(first, status=202)

    def answer(result: TrackResult) -> str:
        return json_text(track_response(request, result.deductions, result.balance, result.related))

    result = track(use, answer_of=answer)
    if result.replayed is not None:
        return replayed(result.replayed)
    count("Tracks", outcome="recorded")
    return ok(track_response(request, result.deductions, result.balance, result.related))


@observed("balances.track", traced=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
