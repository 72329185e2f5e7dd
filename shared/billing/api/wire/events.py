"""events.list and events.aggregate: requests and answers."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from billing.api.wire.common import (
    Id,
    Moment,
    WireRequest,
    WireResponse,
    omitted_when_none,
)
from billing.domain.errors import InvalidRequest
from billing.domain.reports import Bin, BinSize, Measure, StoredEvent, range_start

RangeName = Literal["24h", "7d", "30d", "90d", "last_cycle", "1bc", "3bc"]
# A read walks the range a month partition at a time: its work grows with the range, so the
# range is bounded (Autumn's longest named range is 90 days; a year is ample for a custom one).
MOST_RANGE_DAYS = 366
_DAY_MS = 86_400_000


class CustomRange(WireRequest):
    start: Moment | None = None
    end: Moment | None = None


class Window(WireRequest):
    # Events are kept per customer (see README): a listing across customers is not offered.
    customer_id: Id
    feature_id: Id | list[Id] | None = None
    entity_id: Id | None = None
    range: RangeName | None = None
    custom_range: CustomRange | None = None

    @model_validator(mode="after")
    def _supported(self) -> Window:
        if self.entity_id is not None:
            raise _unsupported("entity_id", "entities are not available yet")
        if self.range in ("last_cycle", "1bc", "3bc"):
            raise _unsupported("range", "billing-cycle ranges are not available yet")
        return self

    def features(self) -> list[str] | None:
        if self.feature_id is None:
            return None
        return [self.feature_id] if isinstance(self.feature_id, str) else list(self.feature_id)

    def span(self, now_ms: int, default_range: str) -> tuple[int, int]:
        """The range to read: at most `MOST_RANGE_DAYS` long."""
        custom = self.custom_range or CustomRange()
        end = int(custom.end) if custom.end is not None else now_ms
        if custom.start is not None:
            start = int(custom.start)
        else:
            start = range_start(self.range or default_range, now_ms)
        if start > end:
            raise _unsupported("custom_range", "start must not be after end")
        if end - start > MOST_RANGE_DAYS * _DAY_MS:
            raise _unsupported("custom_range", f"may span at most {MOST_RANGE_DAYS} days")
        return start, end


class ListEventsRequest(Window):
    start_cursor: str | None = None
    limit: int = Field(default=50, ge=1, le=1000)


class AggregateEventsRequest(Window):
    feature_id: Id | list[Id]
    bin_size: BinSize = "day"
    measure: Measure = "sum"
    group_by: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    filter_by: dict[str, str] | None = None
    max_groups: int | None = Field(default=None, ge=1, le=1000)


class EventResponse(WireResponse):
    id: str
    timestamp: int
    feature_id: str
    customer_id: str
    value: Decimal
    properties: dict[str, Any]
    deductions: list[dict[str, Any]] | None


class EventListResponse(WireResponse):
    list: list[EventResponse]
    next_cursor: str | None


class BinResponse(WireResponse):
    period: int
    values: dict[str, Decimal]
    grouped_values: dict[str, dict[str, Decimal]] | None = omitted_when_none()


class AggregateResponse(WireResponse):
    list: list[BinResponse]
    total: dict[str, dict[str, Decimal]]


def event_response(event: StoredEvent, asked: list[str] | None) -> EventResponse:
    shown = next((f for f in event.feature_ids if asked and f in asked), None)
    return EventResponse(
        id=event.id,
        timestamp=event.timestamp,
        feature_id=shown or (event.feature_ids[0] if event.feature_ids else ""),
        customer_id=event.customer_id,
        value=event.value,
        properties=event.properties,
        deductions=[{**d, "reset": None} for d in event.deductions],
    )


def aggregate_response(
    bins: list[Bin], totals: dict[str, dict[str, Decimal]], grouped: bool, max_groups: int | None
) -> AggregateResponse:
    return AggregateResponse(
        list=[
            BinResponse(
                period=each.period,
                values=each.values,
                grouped_values={
                    feature: dict(sorted(groups.items(), key=lambda g: -g[1])[:max_groups])
                    for feature, groups in each.grouped.items()
                }
                if grouped
                else None,
            )
            for each in bins
        ],
        total=totals,
    )


def _unsupported(field: str, message: str) -> InvalidRequest:
    return InvalidRequest(f"{field}: {message}.", details=[{"field": field, "message": message}])
