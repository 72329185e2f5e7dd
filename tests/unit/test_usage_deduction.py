"""The deduction math, pinned by properties: nothing created or lost, order respected."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from billing.domain.holdings import Grant
from billing.domain.terms import ItemPrice, Reset
from billing.domain.usage import deduct, usable

NOW = 1_800_000_000_000
INTERVALS = ["day", "week", "month", "year", "one_off"]


@st.composite
def grants(draw: st.DrawFn, overage: bool = False) -> list[Grant]:
    count = draw(st.integers(min_value=1, max_value=4))
    made = []
    for n in range(count):
        included = draw(st.integers(min_value=0, max_value=1000))
        made.append(
            Grant(
                id=f"g{n}",
                feature_id="messages",
                plan_id="p",
                included=included,
                usage=draw(st.integers(min_value=0, max_value=included)),
                reset=Reset(interval=draw(st.sampled_from(INTERVALS))),
                anchor_at=NOW - 1000 + n,
                next_reset_at=None,
                expires_at=draw(st.one_of(st.none(), st.integers(NOW + 1, NOW + 10**9))),
                price=ItemPrice(amount=0.01, billing_method="usage_based")
                if overage and n == count - 1
                else None,
            )
        )
    return made


def remaining(held: list[Grant]) -> float:
    return sum(g.granted - g.usage for g in held)


@settings(max_examples=300, deadline=None)
@given(held=grants(), value=st.integers(min_value=0, max_value=5000))
def test_cap_takes_what_fits_and_never_more(held: list[Grant], value: int) -> None:
    result = deduct("messages", held, value, NOW)

    assert result.applied == min(value, remaining(held))
    assert sum(c.usage_after - c.usage_before for c in result.changes) == result.applied
    assert all(c.usage_after <= c.grant.granted for c in result.changes)


@settings(max_examples=300, deadline=None)
@given(held=grants(), value=st.integers(min_value=1, max_value=5000))
def test_grants_are_used_in_order(held: list[Grant], value: int) -> None:
    result = deduct("messages", held, value, NOW)
    after = {c.grant.id: c.usage_after for c in result.changes}
    ordered = usable(held, NOW)

    full = [after.get(g.id, g.usage) >= g.granted for g in ordered]
    touched = [g.id in after for g in ordered]
    # Once a grant is not used up, no later grant was touched.
    for index, is_full in enumerate(full):
        if not is_full:
            assert not any(touched[index + 1 :])
            break


@settings(max_examples=300, deadline=None)
@given(held=grants(overage=True), value=st.integers(min_value=0, max_value=5000))
def test_by_default_a_use_takes_everything_and_the_excess_lands_on_the_overage_grant(
    held: list[Grant], value: int
) -> None:
    result = deduct("messages", held, value, NOW)

    assert result.applied == value
    excess = max(0, value - remaining(held))
    overage = next(c for c in [*result.changes, None] if c is None or c.grant.price is not None)
    if excess:
        assert overage is not None
        assert overage.usage_after - overage.grant.granted >= excess


@settings(max_examples=300, deadline=None)
@given(held=grants(), value=st.integers(min_value=0, max_value=5000))
def test_all_or_nothing_takes_all_or_nothing(held: list[Grant], value: int) -> None:
    result = deduct("messages", held, value, NOW, all_or_nothing=True)

    assert result.applied in (0, value)
    assert (result.applied == value) == (value <= remaining(held))
    if result.applied == 0:
        assert all(c.usage_after == c.usage_before for c in result.changes)


@settings(max_examples=300, deadline=None)
@given(held=grants(), value=st.integers(min_value=1, max_value=5000))
def test_giving_back_never_goes_below_zero_usage(held: list[Grant], value: int) -> None:
    result = deduct("messages", held, -value, NOW)

    used = sum(g.usage for g in held)
    assert result.applied == -min(value, used)
    assert all(c.usage_after >= 0 for c in result.changes)


def test_a_reset_that_fell_due_is_applied_before_deducting() -> None:
    due = Grant(
        id="g",
        feature_id="messages",
        plan_id="p",
        included=10,
        usage=10,
        reset=Reset(interval="day"),
        anchor_at=NOW - 3 * 86_400_000,
        next_reset_at=NOW - 1,
    )

    result = deduct("messages", [due], 4, NOW)

    [change] = result.changes
    assert result.applied == 4
    assert change.usage_after == 4
    assert change.reset_from == NOW - 1
    assert change.grant.next_reset_at is not None
    assert change.grant.next_reset_at > NOW


def test_expired_grants_are_not_used() -> None:
    expired = Grant(
        id="g", feature_id="messages", plan_id="p", included=10, anchor_at=0, expires_at=NOW - 1
    )

    assert deduct("messages", [expired], 1, NOW).applied == 0


def test_an_unlimited_grant_takes_anything() -> None:
    unlimited = Grant(
        id="g", feature_id="messages", plan_id="p", included=0, unlimited=True, anchor_at=0
    )

    result = deduct("messages", [unlimited], 10**9, NOW, all_or_nothing=True)

    assert result.applied == 10**9
