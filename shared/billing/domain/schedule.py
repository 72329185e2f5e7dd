"""When a recurring allowance resets: always counted from its anchor, so it never drifts.

A monthly grant anchored on the 31st resets on the last day of shorter months and on the
31st again after; each reset is computed from the anchor, never from the previous reset.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta

from billing.domain.terms import Reset

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FIXED = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}
_MONTHS = {"month": 1, "quarter": 3, "semi_annual": 6, "year": 12}


def next_reset_at(anchor_ms: int, reset: Reset | None, now_ms: int) -> int | None:
    """The first reset strictly after `now_ms`, or None for an allowance that never resets."""
    if reset is None or reset.interval == "one_off":
        return None
    anchor = _EPOCH + timedelta(milliseconds=anchor_ms)
    if reset.interval in _FIXED:
        step = _FIXED[reset.interval] * reset.interval_count
        elapsed = max(0, now_ms - anchor_ms)
        periods = elapsed // int(step.total_seconds() * 1000) + 1
        return anchor_ms + periods * int(step.total_seconds() * 1000)
    months = _MONTHS[reset.interval] * reset.interval_count
    # Estimate the period count, then step to the first boundary after now.
    now = _EPOCH + timedelta(milliseconds=now_ms)
    periods = max(1, ((now.year - anchor.year) * 12 + now.month - anchor.month) // months)
    while _ms(_add_months(anchor, periods * months)) <= now_ms:
        periods += 1
    while periods > 1 and _ms(_add_months(anchor, (periods - 1) * months)) > now_ms:
        periods -= 1
    return _ms(_add_months(anchor, periods * months))


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _ms(moment: datetime) -> int:
    # Integer arithmetic: a float timestamp times 1000 can land 1 ms short of the boundary.
    return (moment - _EPOCH) // timedelta(milliseconds=1)
