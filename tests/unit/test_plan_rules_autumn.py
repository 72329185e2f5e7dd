"""Autumn's plan rules that `validated()` follows: bounds on included amounts, what tiers
may carry, and which plans may have a free trial."""

from __future__ import annotations

from billing.domain.plan_rules import validated
from billing.domain.plans import BasePrice, FreeTrial, ItemPrice, PlanItem
from billing.domain.terms import Tier
from tests.unit.test_catalog_plans import FEATURES, MONTHLY, item, plan, rejected_field


def tiered(included: float = 0, **price: object) -> PlanItem:
    price.setdefault("tiers", (Tier(to=100, amount=1), Tier(to="inf", amount=0.5)))
    price.setdefault("billing_method", "prepaid")
    return PlanItem(feature_id="messages", included=included, price=ItemPrice(**price))


class TestIncluded:
    def test_ten_trillion_included_is_accepted(self):
        result = validated(plan(item("messages", included=10**13)), FEATURES)

        assert result.terms.items[0].included == 10**13

    def test_more_than_ten_trillion_included_is_rejected(self):
        assert rejected_field(plan(item("messages", included=10**13 + 1))) == "items.0.included"


class TestTiers:
    def test_flat_amounts_on_volume_tiers_are_accepted(self):
        volume = tiered(
            tiers=(Tier(to=100, amount=1, flat_amount=5), Tier(to="inf", amount=0.5)),
            tier_behavior="volume",
        )

        assert validated(plan(volume, price=MONTHLY), FEATURES).terms.items[0].price == (
            volume.price
        )

    def test_a_flat_amount_on_graduated_tiers_is_rejected(self):
        graduated = tiered(
            tiers=(Tier(to=100, amount=1, flat_amount=5), Tier(to="inf", amount=0.5)),
            tier_behavior="graduated",
        )

        assert rejected_field(plan(graduated, price=MONTHLY)) == "items.0.price.tier_behavior"

    def test_a_flat_amount_on_a_single_tier_is_rejected(self):
        single = tiered(tiers=(Tier(to="inf", amount=1, flat_amount=5),), tier_behavior="volume")

        assert rejected_field(plan(single, price=MONTHLY)) == "items.0.price.tiers"

    def test_volume_tiers_on_a_usage_based_price_are_rejected(self):
        usage = tiered(tier_behavior="volume", billing_method="usage_based")

        assert rejected_field(plan(usage, price=MONTHLY)) == "items.0.price.tier_behavior"

    def test_the_first_tier_must_end_above_the_included_amount(self):
        assert rejected_field(plan(tiered(included=100), price=MONTHLY)) == (
            "items.0.price.tiers.0.to"
        )

    def test_a_first_tier_above_the_included_amount_is_accepted(self):
        result = validated(plan(tiered(included=99), price=MONTHLY), FEATURES)

        assert result.terms.items[0].included == 99


class TestFreeTrials:
    def test_a_free_default_plan_may_have_a_free_trial(self):
        trial = FreeTrial(duration_length=14, duration_type="day")

        result = validated(plan(item("messages"), free_trial=trial, auto_enable=True), FEATURES)

        assert result.terms.free_trial == trial

    def test_a_free_plan_that_is_not_a_default_still_has_no_free_trial(self):
        bad = plan(item("messages"), free_trial=FreeTrial(duration_length=7), auto_enable=False)

        assert rejected_field(bad) == "free_trial"

    def test_a_one_off_default_plan_has_no_free_trial(self):
        bad = plan(
            price=BasePrice(amount=0, interval="one_off"),
            free_trial=FreeTrial(duration_length=7),
            auto_enable=True,
        )

        assert rejected_field(bad) == "free_trial"
