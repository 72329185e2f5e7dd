"""POST /v1/events.list: a customer's usage events, newest first, in cursor pages."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing import clock
from billing.api.app import make_app, ok
from billing.api.body import parse
from billing.api.wire.events import EventListResponse, ListEventsRequest, event_response
from billing.observability import observed
from billing.services.balances.events import list_events

app = make_app(idempotency=False)


@app.post("/v1/events.list")
def list_page() -> Response[str]:
    request = parse(ListEventsRequest, app.current_event)
    start, end = request.span(clock.now_ms(), default_range="90d")
    asked = request.features()
    found, cursor = list_events(
        request.customer_id,
        start,
        end,
        set(asked) if asked else None,
        request.start_cursor,
        request.limit,
    )
    return ok(EventListResponse(list=[event_response(e, asked) for e in found], next_cursor=cursor))


@observed("events.list")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
