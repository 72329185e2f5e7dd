"""POST /v1/events.aggregate: a customer's usage summed or counted per period."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing import clock
from billing.api.app import make_app, ok
from billing.api.body import parse
from billing.api.wire.events import AggregateEventsRequest, aggregate_response
from billing.observability import observed
from billing.services.balances.events import aggregate_events

app = make_app(idempotency=False)


@app.post("/v1/events.aggregate")
def aggregate() -> Response[str]:
    request = parse(AggregateEventsRequest, app.current_event)
    start, end = request.span(clock.now_ms(), default_range="30d")
    bins, totals = aggregate_events(
        request.customer_id,
        request.features() or [],
        start,
        end,
        request.bin_size,
        request.measure,
        request.group_by,
        request.filter_by,
    )
    grouped = request.group_by is not None
    return ok(aggregate_response(bins, totals, grouped, request.max_groups))


@observed("events.aggregate")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
