"""The usage chart's geometry: one bar per day of the last 30, scaled to the busiest day."""

from __future__ import annotations

from decimal import Decimal

from billing.dashboard.chart import DAY_MS, DAYS, HEIGHT, charts, first_day
from billing.domain.reports import Bin

NOW = 1_800_000_000_000 + 5 * 3600 * 1000  # some hours into a day
TODAY = NOW // DAY_MS * DAY_MS


def test_each_of_the_30_days_has_a_bar_and_the_busiest_fills_the_height():
    bins = [
        Bin(period=TODAY, values={"messages": Decimal(40)}),
        Bin(period=TODAY - 2 * DAY_MS, values={"messages": Decimal(10)}),
    ]

    (chart,) = charts(bins, ["messages"], NOW)

    assert len(chart.bars) == DAYS
    assert chart.total == 50
    assert chart.peak == 40
    today, two_days_ago = chart.bars[-1], chart.bars[-3]
    assert today.height == HEIGHT - 1
    assert two_days_ago.height == (HEIGHT - 1) // 4
    assert today.label.endswith(": 40")
    assert chart.bars[0].label.endswith(": 0")


def test_the_first_day_is_29_days_before_today():
    assert first_day(NOW) == TODAY - (DAYS - 1) * DAY_MS


def test_a_feature_without_usage_draws_flat_bars_and_units_given_back_draw_nothing():
    bins = [Bin(period=TODAY, values={"messages": Decimal(-3)})]

    (chart,) = charts(bins, ["messages"], NOW)

    assert chart.total == -3
    assert {bar.height for bar in chart.bars} == {1}
    assert chart.bars[-1].label.endswith(": -3")
