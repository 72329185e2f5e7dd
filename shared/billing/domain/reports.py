"""Usage over time: events binned by period, summed or counted, optionally by a property."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

BinSize = Literal["hour", "day", "week", "month"]
Measure = Literal["sum", "count"]

RANGE_DAYS = {"24h": 1, "7d": 7, "30d": 30, "90d": 90}
_DAY_MS = 86_400_000


@dataclass(frozen=True)
class StoredEvent:
    """A recorded use, as events.list shows it."""

    id: str
    timestamp: int
    customer_id: str
    feature_ids: tuple[str, ...]
    value: Decimal
    properties: dict[str, Any]
    deductions: list[dict[str, Any]]


@dataclass(frozen=True)
class Use:
    timestamp: int
    feature_ids: tuple[str, ...]
    value: Decimal
    properties: dict[str, Any]


@dataclass
class Bin:
    period: int
    values: dict[str, Decimal] = field(default_factory=dict)
    grouped: dict[str, dict[str, Decimal]] = field(default_factory=dict)


def range_start(range_name: str, now_ms: int) -> int:
    return now_ms - RANGE_DAYS[range_name] * _DAY_MS


def period_of(timestamp_ms: int, size: BinSize) -> int:
    """The start of the UTC period holding the moment (weeks start on Monday)."""
    moment = datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)
    if size == "hour":
        start = moment.replace(minute=0, second=0, microsecond=0)
    elif size == "day":
        start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    elif size == "week":
        start = (moment - timedelta(days=moment.weekday())).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
    else:
        start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return int(start.timestamp() * 1000)


def aggregate(
    uses: Iterable[Use],
    features: list[str],
    size: BinSize,
    measure: Measure = "sum",
    group_by: str | None = None,
    filter_by: dict[str, str] | None = None,
) -> tuple[list[Bin], dict[str, dict[str, Decimal]]]:
    """Bins in time order, and per feature the totals {"count", "sum"}."""
    bins: dict[int, Bin] = {}
    totals = {f: {"count": Decimal(0), "sum": Decimal(0)} for f in features}
    for use in uses:
        if filter_by and any(str(use.properties.get(k)) != v for k, v in filter_by.items()):
            continue
        period = period_of(use.timestamp, size)
        current = bins.setdefault(period, Bin(period=period))
        amount = Decimal(1) if measure == "count" else use.value
        for feature_id in (f for f in features if f in use.feature_ids):
            current.values[feature_id] = current.values.get(feature_id, Decimal(0)) + amount
            totals[feature_id]["count"] += 1
            totals[feature_id]["sum"] += use.value
            if group_by is not None:
                group = str(_property(use.properties, group_by))
                grouped = current.grouped.setdefault(feature_id, defaultdict(Decimal))
                grouped[group] += amount
    ordered = [bins[p] for p in sorted(bins)]
    for each in ordered:
        for feature_id in features:
            each.values.setdefault(feature_id, Decimal(0))
    return ordered, totals


def _property(properties: dict[str, Any], path: str) -> Any:
    """`properties.model` or `model`: the value at that property path, None if absent."""
    value: Any = properties
    for part in path.removeprefix("properties.").split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value
