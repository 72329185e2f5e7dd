"""The usage chart: one bar per day of the last 30, per feature, drawn as SVG on the server
from the bins `events.aggregate` computes (no script, no chart library)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import NamedTuple

from billing.domain.reports import Bin

DAYS = 30
DAY_MS = 86_400_000
WIDTH = 600
HEIGHT = 120
_GAP = 2


class Bar(NamedTuple):
    x: int
    y: int
    width: int
    height: int
    label: str


class Chart(NamedTuple):
    feature_id: str
    total: Decimal
    peak: Decimal
    bars: tuple[Bar, ...]
    width: int = WIDTH
    height: int = HEIGHT


def first_day(now_ms: int) -> int:
    """The start (UTC midnight) of the first of the 30 days ending today."""
    return (now_ms // DAY_MS - (DAYS - 1)) * DAY_MS


def charts(bins: list[Bin], feature_ids: list[str], now_ms: int) -> list[Chart]:
    start = first_day(now_ms)
    by_day = {b.period: b.values for b in bins}
    days = [start + i * DAY_MS for i in range(DAYS)]
    return [
        _chart(f, [by_day.get(d, {}).get(f, Decimal(0)) for d in days], days) for f in feature_ids
    ]


def _chart(feature_id: str, values: list[Decimal], days: list[int]) -> Chart:
    peak = max(values, default=Decimal(0))
    slot = WIDTH // DAYS
    bars = []
    for index, (day, value) in enumerate(zip(days, values, strict=True)):
        # A negative day (units given back) draws nothing; its label still says so.
        share = max(value, Decimal(0)) / peak if peak > 0 else Decimal(0)
        height = int(share * (HEIGHT - 1)) if share > 0 else 0
        bars.append(
            Bar(
                x=index * slot,
                y=HEIGHT - max(height, 1),
                width=slot - _GAP,
                height=max(height, 1),
                label=f"{_date(day)}: {value.normalize():f}",
            )
        )
    return Chart(feature_id, sum(values, Decimal(0)), peak, tuple(bars))


def _date(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d")
