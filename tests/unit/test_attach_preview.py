"""What a preview of an attach costs, priced from the plan's terms as its Stripe prices
charge (billing.domain.attach_preview, pure)."""

from __future__ import annotations

from decimal import Decimal

from billing.domain.attach_preview import (
    bought_quantities,
    held_quantities,
    next_cycle,
    package_cost,
    purchase_lines,
    total,
)
from billing.domain.features import Feature
from billing.domain.holdings import Grant, Holdings
from billing.domain.plans import BasePrice, Plan, PlanItem, PlanTerms
from billing.domain.terms import ItemPrice, Tier

NOW = 1_706_702_400_000  # 2024-01-31 12:00 UTC
FEATURES = {
    "seats": Feature(id="seats", name="Seats", type="metered", consumable=False),
    "messages": Feature(id="messages", name="Messages", type="metered", consumable=True),
}


def tiered(behavior: str) -> ItemPrice:
    return ItemPrice(
        tiers=(
            Tier(to=Decimal(10), amount=Decimal(5)),
            Tier(to="inf", amount=Decimal(3), flat_amount=Decimal(0)),
        ),
        tier_behavior=behavior,  # type: ignore[arg-type]
        billing_units=Decimal(5),
    )


def test_flat_packages_cost_their_price_each() -> None:
    price = ItemPrice(amount=Decimal("8.5"), billing_units=Decimal(5))
    assert package_cost(price, Decimal(3)) == Decimal("25.5")


def test_graduated_tiers_price_each_package_in_its_own_tier() -> None:
    # Tier bounds count packages of 5 units: the first tier holds 2 packages.
    assert package_cost(tiered("graduated"), Decimal(3)) == Decimal(2 * 5 + 1 * 3)


def test_volume_tiers_price_every_package_at_the_tier_reached() -> None:
    assert package_cost(tiered("volume"), Decimal(3)) == Decimal(3 * 3)
    assert package_cost(tiered("volume"), Decimal(2)) == Decimal(2 * 5)


TEAM = Plan(
    id="team",
    name="Team",
    terms=PlanTerms(
        price=BasePrice(amount=Decimal(30), interval="month"),
        items=(
            PlanItem(
                feature_id="seats",
                included=Decimal(2),
                price=ItemPrice(amount=Decimal(8), billing_units=Decimal(5)),
            ),
            PlanItem(
                feature_id="messages",
                included=Decimal(100),
                price=ItemPrice(amount=Decimal("0.5"), billing_method="usage_based"),
            ),
        ),
    ),
)


def test_a_purchase_is_its_base_price_and_the_packages_bought() -> None:
    lines = purchase_lines(TEAM, FEATURES, {"seats": Decimal(3)}, (NOW, NOW + 1))

    assert [(line.feature_id, line.amount, line.quantity) for line in lines] == [
        (None, Decimal(30), Decimal(1)),
        ("seats", Decimal(24), Decimal(15)),
    ]
    assert total(lines) == Decimal(54)
    assert bought_quantities(TEAM, {"seats": Decimal(3)}) == (("seats", Decimal(17)),)


def test_a_sub_cent_line_is_shown_as_stripe_charges_it_rounded_once_half_up() -> None:
    plan = TEAM.model_copy(
        update={
            "terms": PlanTerms(
                price=BasePrice(amount=Decimal("9.995"), interval="month"),
                items=(
                    PlanItem(
                        feature_id="seats",
                        price=ItemPrice(amount=Decimal("0.125"), billing_units=Decimal(1)),
                    ),
                ),
            )
        }
    )

    lines = purchase_lines(plan, FEATURES, {"seats": Decimal(3)}, None)

    assert [line.amount for line in lines] == [Decimal("10.00"), Decimal("0.38")]
    assert total(lines) == Decimal("10.38")


def test_the_next_cycle_starts_then_and_lists_usage_billed_at_its_end() -> None:
    cycle = next_cycle(TEAM, FEATURES, {}, NOW)

    assert cycle is not None
    assert cycle.starts_at == NOW
    assert total(cycle.lines) == Decimal(30)
    assert [(u.feature_id, u.period) for u in cycle.usage_lines] == [
        ("messages", (NOW, 1_709_208_000_000))  # 2024-02-29 12:00, month end clamped
    ]


def test_a_one_off_plan_has_no_next_cycle() -> None:
    top_up = Plan(
        id="top_up",
        name="Top-up",
        terms=PlanTerms(price=BasePrice(amount=Decimal(5), interval="one_off")),
    )
    assert next_cycle(top_up, FEATURES, {}, NOW) is None


def test_a_held_plan_gives_its_included_and_prepaid_units() -> None:
    seats = Grant(
        id="g1",
        feature_id="seats",
        plan_id="team",
        included=Decimal(2),
        prepaid=Decimal(15),
        anchor_at=NOW,
        price=ItemPrice(amount=Decimal(8), billing_units=Decimal(5)),
    )
    assert held_quantities(Holdings(grants=(seats,)), "team") == (("seats", Decimal(17)),)
