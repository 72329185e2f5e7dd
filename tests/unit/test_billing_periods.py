"""Closing a billing period (pure): what usage past a usage-based allowance costs, and how
the period's balances start again."""

from __future__ import annotations

from decimal import Decimal

from billing.domain.holdings import Grant
from billing.domain.periods import (
    closing_grants,
    overage_of,
    reset_for_new_period,
    resets_with_period,
)
from billing.domain.terms import ItemPrice, Reset, Tier

MONTH = Reset(interval="month")


def grant(usage: str, price: ItemPrice | None, next_reset_at: int | None = None) -> Grant:
    return Grant(
        id="g1",
        feature_id="messages",
        plan_id="pro",
        included=Decimal(100),
        anchor_at=0,
        usage=Decimal(usage),
        reset=MONTH,
        next_reset_at=next_reset_at,
        price=price,
    )


def usage_based(amount: str, units: str = "1") -> ItemPrice:
    return ItemPrice(
        amount=Decimal(amount), billing_units=Decimal(units), billing_method="usage_based"
    )


def test_usage_past_the_allowance_is_billed_in_whole_packages_at_the_exact_amount():
    overage = overage_of(grant("130.5", usage_based("0.1", units="10")))

    assert overage is not None
    assert (overage.units, overage.packages, overage.amount) == (
        Decimal("30.5"),
        4,
        Decimal("0.4"),
    )
    assert (overage.feature_id, overage.plan_id) == ("messages", "pro")


def test_tiered_overage_is_priced_through_graduated_tiers_past_the_allowance():
    tiered = ItemPrice(
        tiers=(
            Tier(to=Decimal(150), amount=Decimal("0.10")),
            Tier(to="inf", amount=Decimal("0.05")),
        ),
        billing_method="usage_based",
    )

    overage = overage_of(grant("200", tiered))

    assert overage is not None
    # 50 units of the first tier past the 100 included, then 50 of the second.
    assert (overage.units, overage.packages, overage.amount) == (
        Decimal(100),
        100,
        Decimal("7.50"),
    )


def test_nothing_is_billed_within_the_allowance_or_for_prepaid_items():
    assert overage_of(grant("100", usage_based("1"))) is None
    prepaid = ItemPrice(amount=Decimal(1), billing_method="prepaid")
    assert overage_of(grant("150", prepaid)) is None
    assert overage_of(grant("150", None)) is None


def test_a_new_period_starts_with_nothing_used_and_keeps_lazy_resets_on_their_anchor():
    in_arrears = reset_for_new_period(grant("130", usage_based("1")), now_ms=5_000)
    assert (in_arrears.usage, in_arrears.next_reset_at) == (0, None)

    day = Reset(interval="day")
    lazy = grant("7", None, next_reset_at=86_400_000)._replace(reset=day)
    after = reset_for_new_period(lazy, now_ms=86_400_000 + 5)
    assert (after.usage, after.next_reset_at) == (0, 2 * 86_400_000)


def test_only_recurring_allowances_reset_with_the_period():
    assert resets_with_period(grant("1", None))
    assert not resets_with_period(grant("1", None)._replace(reset=Reset(interval="one_off")))
    assert not resets_with_period(grant("1", None)._replace(unlimited=True))


def test_a_trials_end_closes_every_recurring_allowance_but_usage_billed_in_arrears():
    in_arrears = grant("150", usage_based("0.1"))
    included = grant("30", None)._replace(id="g2", feature_id="words")
    prepaid = grant("20", ItemPrice(amount=Decimal(1), billing_method="prepaid"))._replace(id="g3")
    other_plan = grant("5", usage_based("0.1"))._replace(id="g4", plan_id="addon")
    held = [in_arrears, included, prepaid, other_plan]

    # A paid period closes all of the plan's recurring allowances.
    assert closing_grants(held, {"pro"}, trial=False) == [in_arrears, included, prepaid]
    # A trial's end leaves the usage billed in arrears to the first paid period.
    assert closing_grants(held, {"pro"}, trial=True) == [included, prepaid]
