"""events.list and events.aggregate: a customer's usage events, listed or summed over time."""

from __future__ import annotations

from decimal import Decimal

from billing.domain.errors import CustomerNotFound
from billing.domain.reports import Bin, BinSize, Measure, StoredEvent, Use, aggregate
from billing.store import customers, events

# An aggregate reads the events themselves: past this many in one range, ask for less.
MOST_EVENTS_PER_AGGREGATE = 100_000


def list_events(
    customer_id: str,
    start_ms: int,
    end_ms: int,
    feature_ids: set[str] | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[StoredEvent], str | None]:
    _require_customer(customer_id)
    return events.page(customer_id, start_ms, end_ms, feature_ids, cursor, limit)


def aggregate_events(
    customer_id: str,
    feature_ids: list[str],
    start_ms: int,
    end_ms: int,
    size: BinSize,
    measure: Measure,
    group_by: str | None,
    filter_by: dict[str, str] | None,
) -> tuple[list[Bin], dict[str, dict[str, Decimal]]]:
    _require_customer(customer_id)
    stored = events.all_in(
        customer_id, start_ms, end_ms, set(feature_ids), MOST_EVENTS_PER_AGGREGATE
    )
    uses = (Use(e.timestamp, e.feature_ids, e.value, e.properties) for e in stored)
    return aggregate(uses, feature_ids, size, measure, group_by, filter_by)


def _require_customer(customer_id: str) -> None:
    if customers.load(customer_id) is None:
        raise CustomerNotFound
