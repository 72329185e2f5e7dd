"""events.list and events.aggregate: a customer's usage events, listed or summed over time."""

from __future__ import annotations

from decimal import Decimal

from billing.domain.reports import Bin, BinSize, Measure, StoredEvent, Use, aggregate
from billing.services.customers.get import get_customer
from billing.store import events

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
    # Events are kept under the customer's internal id: they follow a rename, and a customer
    # re-created under a deleted one's id never sees the old owner's.
    owner = get_customer(customer_id).internal_id
    return events.page(owner, customer_id, start_ms, end_ms, feature_ids, cursor, limit)


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
    owner = get_customer(customer_id).internal_id
    stored = events.all_in(
        owner, customer_id, start_ms, end_ms, set(feature_ids), MOST_EVENTS_PER_AGGREGATE
    )
    uses = (Use(e.timestamp, e.feature_ids, e.value, e.properties) for e in stored)
    return aggregate(uses, feature_ids, size, measure, group_by, filter_by)
