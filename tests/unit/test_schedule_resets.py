"""When allowances reset: `next_reset_at()` always counts from the anchor, so it never drifts.

Expected values are computed here with integer millisecond arithmetic only, independently
of the code under test.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from billing.domain.plans import Reset
from billing.domain.schedule import next_reset_at

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MS = timedelta(milliseconds=1)


def ms(*parts: int) -> int:
    """Milliseconds since the epoch of a UTC moment, exactly (no float on the way)."""
    year, month, day, *rest = parts
    hour, minute, second, milli = (*rest, 0, 0, 0, 0)[:4]
    moment = datetime(year, month, day, hour, minute, second, milli * 1000, tzinfo=UTC)
    return (moment - EPOCH) // ONE_MS


def moment(at_ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=at_ms)


MIN_MS = ms(2000, 1, 1)
MAX_MS = ms(2100, 12, 31, 23, 59, 59, 999)
# Anchors from 2000 to 2090 so that a "now" up to ten years later stays within 2100.
MAX_ANCHOR_MS = ms(2090, 12, 31, 23, 59, 59, 999)
TEN_YEARS_MS = 10 * 366 * 24 * 3600 * 1000

MONTHS = {"month": 1, "quarter": 3, "semi_annual": 6, "year": 12}
FIXED_MS = {"hour": 3_600_000, "day": 86_400_000, "week": 7 * 86_400_000}

# 2004-03-19 05:22:29.814 UTC: a millisecond whose moment a month later,
# 2004-04-19 05:22:29.814 = 1082352149814 ms, does not survive a round trip through a float
# timestamp (int(1082352149.814 * 1000) == 1082352149813).
FLOAT_TRAP_ANCHOR_MS = 1079673749814
FLOAT_TRAP_NEXT_MS = 1082352149814

anchors = st.integers(min_value=MIN_MS, max_value=MAX_ANCHOR_MS)
offsets = st.integers(min_value=0, max_value=TEN_YEARS_MS)
counts = st.integers(min_value=1, max_value=4)


def calendar_boundary(anchor_ms: int, months: int) -> int:
    """The anchor moved `months` calendar months on, clamped to the end of shorter months."""
    anchor = moment(anchor_ms)
    index = anchor.month - 1 + months
    year, month = anchor.year + index // 12, index % 12 + 1
    day = min(anchor.day, calendar.monthrange(year, month)[1])
    return (anchor.replace(year=year, month=month, day=day) - EPOCH) // ONE_MS


def months_between(start: datetime, end: datetime) -> int:
    return (end.year - start.year) * 12 + end.month - start.month


class TestCalendarIntervals:
    @settings(max_examples=200, deadline=None)
    @given(
        anchor_ms=anchors,
        offset=offsets,
        interval=st.sampled_from(sorted(MONTHS)),
        count=counts,
    )
    @example(anchor_ms=FLOAT_TRAP_ANCHOR_MS, offset=0, interval="month", count=1)
    @example(anchor_ms=ms(2000, 1, 31, 12), offset=0, interval="month", count=1)
    @example(anchor_ms=ms(2000, 2, 29, 23, 59, 59, 999), offset=0, interval="year", count=1)
    def test_the_next_reset_keeps_the_anchors_day_and_time_of_day_without_drift(
        self, anchor_ms: int, offset: int, interval: str, count: int
    ):
        now_ms = anchor_ms + offset

        result = next_reset_at(anchor_ms, Reset(interval=interval, interval_count=count), now_ms)

        assert result is not None
        assert result > now_ms
        anchor, reset = moment(anchor_ms), moment(result)
        assert reset.day == min(anchor.day, calendar.monthrange(reset.year, reset.month)[1])
        assert reset.time() == anchor.time()
        step = MONTHS[interval] * count
        elapsed_months = months_between(anchor, reset)
        assert elapsed_months % step == 0
        assert elapsed_months >= step

    @settings(max_examples=200, deadline=None)
    @given(
        anchor_ms=anchors,
        offset=offsets,
        interval=st.sampled_from(sorted(MONTHS)),
        count=counts,
    )
    @example(anchor_ms=FLOAT_TRAP_ANCHOR_MS, offset=0, interval="month", count=1)
    @example(  # one millisecond before a boundary that floats get wrong
        anchor_ms=FLOAT_TRAP_ANCHOR_MS,
        offset=FLOAT_TRAP_NEXT_MS - 1 - FLOAT_TRAP_ANCHOR_MS,
        interval="month",
        count=1,
    )
    def test_the_next_reset_is_the_first_calendar_boundary_after_now(
        self, anchor_ms: int, offset: int, interval: str, count: int
    ):
        now_ms = anchor_ms + offset
        step = MONTHS[interval] * count
        periods = 1
        while calendar_boundary(anchor_ms, periods * step) <= now_ms:
            periods += 1

        result = next_reset_at(anchor_ms, Reset(interval=interval, interval_count=count), now_ms)

        assert result == calendar_boundary(anchor_ms, periods * step)

    @settings(max_examples=200, deadline=None)
    @given(anchor_ms=anchors, offset=offsets, interval=st.sampled_from(sorted(MONTHS)))
    def test_interval_count_multiplies_the_period_in_months(
        self, anchor_ms: int, offset: int, interval: str
    ):
        now_ms = anchor_ms + offset
        in_months = Reset(interval="month", interval_count=MONTHS[interval])

        assert next_reset_at(anchor_ms, Reset(interval=interval), now_ms) == next_reset_at(
            anchor_ms, in_months, now_ms
        )


class TestFixedIntervals:
    @settings(max_examples=200, deadline=None)
    @given(
        anchor_ms=anchors,
        offset=offsets,
        interval=st.sampled_from(sorted(FIXED_MS)),
        count=counts,
    )
    def test_the_next_reset_is_the_first_whole_step_from_the_anchor_after_now(
        self, anchor_ms: int, offset: int, interval: str, count: int
    ):
        now_ms = anchor_ms + offset
        step = FIXED_MS[interval] * count

        result = next_reset_at(anchor_ms, Reset(interval=interval, interval_count=count), now_ms)

        assert result is not None
        assert result > now_ms
        assert (result - anchor_ms) % step == 0
        assert result - anchor_ms >= step
        assert result - step <= now_ms

    @settings(max_examples=200, deadline=None)
    @given(anchor_ms=anchors, offset=offsets, count=counts)
    def test_interval_count_multiplies_the_fixed_period(
        self, anchor_ms: int, offset: int, count: int
    ):
        now_ms = anchor_ms + offset

        def at(interval: str, n: int) -> int | None:
            return next_reset_at(anchor_ms, Reset(interval=interval, interval_count=n), now_ms)

        assert at("week", count) == at("day", 7 * count)
        assert at("day", count) == at("hour", 24 * count)

    @pytest.mark.parametrize(
        ("interval", "now", "expected"),
        [
            ("hour", ms(2024, 5, 1, 10, 30), ms(2024, 5, 1, 11, 15)),
            ("day", ms(2024, 5, 3, 9), ms(2024, 5, 3, 10, 15)),
            ("week", ms(2024, 5, 9), ms(2024, 5, 15, 10, 15)),
        ],
    )
    def test_fixed_examples(self, interval: str, now: int, expected: int):
        anchor = ms(2024, 5, 1, 10, 15)

        assert next_reset_at(anchor, Reset(interval=interval), now) == expected


class TestNeverResets:
    @settings(max_examples=50, deadline=None)
    @given(anchor_ms=anchors, now_ms=st.integers(min_value=MIN_MS, max_value=MAX_MS))
    def test_a_one_off_or_missing_reset_never_comes(self, anchor_ms: int, now_ms: int):
        assert next_reset_at(anchor_ms, None, now_ms) is None
        assert next_reset_at(anchor_ms, Reset(interval="one_off"), now_ms) is None
        assert next_reset_at(anchor_ms, Reset(interval="one_off", interval_count=3), now_ms) is None


class TestCalendarExamples:
    MONTHLY = Reset(interval="month")
    YEARLY = Reset(interval="year")

    @pytest.mark.parametrize(
        ("year", "february_end"),
        [(2023, 28), (2024, 29), (2100, 28), (2000, 29)],
    )
    def test_a_monthly_reset_anchored_on_the_31st_follows_the_month_ends(
        self, year: int, february_end: int
    ):
        anchor = ms(year, 1, 31, 8, 30, 0, 250)

        feb = next_reset_at(anchor, self.MONTHLY, anchor)
        mar = next_reset_at(anchor, self.MONTHLY, feb)
        apr = next_reset_at(anchor, self.MONTHLY, mar)
        may = next_reset_at(anchor, self.MONTHLY, apr)

        assert feb == ms(year, 2, february_end, 8, 30, 0, 250)
        assert mar == ms(year, 3, 31, 8, 30, 0, 250)
        assert apr == ms(year, 4, 30, 8, 30, 0, 250)
        assert may == ms(year, 5, 31, 8, 30, 0, 250)

    def test_a_monthly_reset_from_the_31st_returns_to_the_31st_after_many_short_months(self):
        anchor = ms(2024, 1, 31, 23, 59, 59, 999)

        assert next_reset_at(anchor, self.MONTHLY, ms(2031, 6, 15)) == ms(
            2031, 6, 30, 23, 59, 59, 999
        )
        assert next_reset_at(anchor, self.MONTHLY, ms(2031, 7, 15)) == ms(
            2031, 7, 31, 23, 59, 59, 999
        )

    def test_a_yearly_reset_anchored_on_february_29_falls_on_the_28th_outside_leap_years(self):
        anchor = ms(2024, 2, 29, 12)

        assert next_reset_at(anchor, self.YEARLY, anchor) == ms(2025, 2, 28, 12)
        assert next_reset_at(anchor, self.YEARLY, ms(2025, 2, 28, 12)) == ms(2026, 2, 28, 12)
        assert next_reset_at(anchor, self.YEARLY, ms(2027, 3, 1)) == ms(2028, 2, 29, 12)

    def test_now_exactly_on_a_boundary_moves_to_the_next_one(self):
        anchor = ms(2024, 1, 15, 9)

        assert next_reset_at(anchor, self.MONTHLY, ms(2024, 3, 15, 9)) == ms(2024, 4, 15, 9)
        assert next_reset_at(anchor, self.MONTHLY, ms(2024, 3, 15, 9) - 1) == ms(2024, 3, 15, 9)
        assert next_reset_at(anchor, Reset(interval="day"), ms(2024, 1, 16, 9)) == ms(
            2024, 1, 17, 9
        )

    def test_now_equal_to_the_anchor_gives_one_period_later(self):
        anchor = ms(2024, 1, 15, 9)

        assert next_reset_at(anchor, self.MONTHLY, anchor) == ms(2024, 2, 15, 9)
        assert next_reset_at(anchor, Reset(interval="quarter"), anchor) == ms(2024, 4, 15, 9)
        assert next_reset_at(anchor, Reset(interval="semi_annual"), anchor) == ms(2024, 7, 15, 9)
        assert next_reset_at(anchor, Reset(interval="hour"), anchor) == ms(2024, 1, 15, 10)

    def test_a_quarterly_reset_counted_twice_skips_to_every_six_months(self):
        anchor = ms(2024, 8, 31)

        assert next_reset_at(anchor, Reset(interval="quarter", interval_count=2), anchor) == ms(
            2025, 2, 28
        )
        assert next_reset_at(
            anchor, Reset(interval="quarter", interval_count=2), ms(2025, 3, 1)
        ) == ms(2025, 8, 31)

    def test_millisecond_anchors_keep_their_exact_millisecond(self):
        # 2004-04-19 05:22:29.814 UTC is 1082352149814 ms; a float timestamp truncates it to ...813.
        assert ms(2004, 3, 19, 5, 22, 29, 814) == FLOAT_TRAP_ANCHOR_MS
        assert ms(2004, 4, 19, 5, 22, 29, 814) == FLOAT_TRAP_NEXT_MS

        assert (
            next_reset_at(FLOAT_TRAP_ANCHOR_MS, self.MONTHLY, FLOAT_TRAP_ANCHOR_MS)
            == FLOAT_TRAP_NEXT_MS
        )

    def test_one_millisecond_before_a_boundary_the_boundary_is_next(self):
        # Truncating the boundary to ...813 makes it look already past, skipping a whole month.
        assert (
            next_reset_at(FLOAT_TRAP_ANCHOR_MS, self.MONTHLY, FLOAT_TRAP_NEXT_MS - 1)
            == FLOAT_TRAP_NEXT_MS
        )
