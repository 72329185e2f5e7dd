"""Time as an object sees it: a customer's test clock, or the wall clock; billing periods."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime

from local.stripe_emulator.store import ObjectStore

CLOCK_OBJECT = "test_helpers.test_clock"
_DAY = 86400


def now_for(store: ObjectStore, customer_id: str | None, wall_now: int) -> int:
    """The clock's frozen time for a customer under a test clock, else ``wall_now``."""
    if customer_id is None:
        return wall_now
    customer = store.find("customer", customer_id)
    clock_id = customer.get("test_clock") if customer else None
    clock = store.find(CLOCK_OBJECT, clock_id) if clock_id else None
    return int(clock["frozen_time"]) if clock else wall_now


def add_interval(anchor: int, interval: str, count: int) -> int:
    """``anchor`` moved ``count`` intervals on; months keep the anchor's day, clamped."""
    if interval == "day":
        return anchor + count * _DAY
    if interval == "week":
        return anchor + count * 7 * _DAY
    months = count * (12 if interval == "year" else 1)
    start = datetime.fromtimestamp(anchor, UTC)
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    moved = start.replace(year=year, month=month, day=day)
    return int(moved.timestamp())


def period_end(anchor: int, period_start: int, interval: str, count: int) -> int:
    """The end of the billing period starting at ``period_start``, aligned on ``anchor``."""
    step = 1
    while True:
        end = add_interval(anchor, interval, step * count)
        if end > period_start:
            return end
        step += 1
