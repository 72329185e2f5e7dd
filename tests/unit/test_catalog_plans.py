"""Plan rules: `validated()`, the `Plan` properties and `needs_new_version()`, free of I/O."""

from __future__ import annotations

import pytest

from billing.domain.errors import InvalidRequest
from billing.domain.features import CreditCost, Feature
from billing.domain.plan_rules import validated
from billing.domain.plans import (
    BasePrice,
    FreeTrial,
    ItemPrice,
    Plan,
    PlanItem,
    PlanTerms,
    Reset,
    needs_new_version,
)
from billing.domain.terms import Tier


def feature(id: str, type: str = "metered", consumable: bool = True, **fields: object) -> Feature:
    return Feature(id=id, name=id.title(), type=type, consumable=consumable, **fields)


FEATURES = {
    "messages": feature("messages"),
    "tokens": feature("tokens"),
    "seats": feature("seats", consumable=False),
    "sso": feature("sso", type="boolean", consumable=False),
    "legacy": feature("legacy", archived=True),
    "credits": feature(
        "credits",
        type="credit_system",
        credit_schema=(
            CreditCost(metered_feature_id="messages", credit_cost=1),
            CreditCost(metered_feature_id="tokens", credit_cost=0.1),
        ),
    ),
}

MONTHLY = BasePrice(amount=20, interval="month")


def plan(
    *items: PlanItem,
    price: BasePrice | None = None,
    free_trial: FreeTrial | None = None,
    **fields: object,
) -> Plan:
    return Plan(
        id="pro",
        name="Pro",
        terms=PlanTerms(price=price, items=items, free_trial=free_trial),
        **fields,
    )


def item(feature_id: str = "messages", **fields: object) -> PlanItem:
    return PlanItem(feature_id=feature_id, **fields)


def priced(feature_id: str = "messages", **price: object) -> PlanItem:
    """An item of `feature_id` with a price (amount 1 unless tiers or an amount are given)."""
    if "tiers" not in price:
        price.setdefault("amount", 1)
    return PlanItem(feature_id=feature_id, price=ItemPrice(**price))


def tiers(*bounds: tuple[float | str, float]) -> tuple[Tier, ...]:
    return tuple(Tier(to=to, amount=amount) for to, amount in bounds)


def rejected_field(plan_: Plan) -> str:
    with pytest.raises(InvalidRequest) as caught:
        validated(plan_, FEATURES)
    error = caught.value
    assert error.code == "invalid_inputs"
    assert error.details is not None
    assert len(error.details) == 1
    field = error.details[0]["field"]
    assert field in error.message
    assert error.details[0]["message"]
    return field


class TestItemFeature:
    def test_an_unknown_feature_is_rejected_on_its_feature_id(self):
        assert rejected_field(plan(item("sso"), item("nope"))) == "items.1.feature_id"

    def test_an_archived_feature_is_rejected_on_its_feature_id(self):
        assert rejected_field(plan(item("legacy"))) == "items.0.feature_id"


class TestBooleanItems:
    def test_a_plain_boolean_item_is_kept_as_is(self):
        result = validated(plan(item("sso")), FEATURES)

        assert result.terms.items == (item("sso"),)
        assert result.terms.items[0].reset is None

    @pytest.mark.parametrize(
        "fields",
        [
            {"included": 5},
            {"unlimited": True},
            {"price": ItemPrice(amount=1)},
            {"reset": Reset(interval="month")},
            {"reset": Reset(interval="one_off")},
        ],
        ids=["included", "unlimited", "price", "reset", "one_off-reset"],
    )
    def test_a_boolean_item_with_amounts_price_or_reset_is_rejected(self, fields: dict):
        assert rejected_field(plan(item("messages"), item("sso", **fields))) == "items.1"


class TestAmounts:
    def test_a_negative_included_amount_is_rejected(self):
        assert rejected_field(plan(item("messages", included=-1))) == "items.0.included"

    def test_zero_included_is_accepted(self):
        assert validated(plan(item("messages", included=0)), FEATURES).terms.items[0].included == 0

    def test_an_unlimited_item_with_a_price_is_rejected_on_its_price(self):
        bad = item("messages", unlimited=True, price=ItemPrice(amount=1))

        assert rejected_field(plan(bad)) == "items.0.price"

    def test_an_unlimited_item_includes_nothing_countable(self):
        result = validated(plan(item("messages", unlimited=True, included=500)), FEATURES)

        assert result.terms.items[0].unlimited is True
        assert result.terms.items[0].included == 0


class TestResets:
    def test_a_consumable_item_with_neither_reset_nor_price_is_a_lifetime_allowance(self):
        result = validated(plan(item("messages", included=100)), FEATURES)

        assert result.terms.items[0].reset == Reset(interval="one_off")

    def test_a_priced_consumable_item_without_reset_resets_with_its_billing_period(self):
        priced = item(
            "messages",
            included=100,
            price=ItemPrice(amount=1, interval="quarter", billing_method="usage_based"),
        )

        result = validated(plan(priced), FEATURES)

        assert result.terms.items[0].reset == Reset(interval="quarter")

    def test_a_priced_item_without_interval_resets_with_the_plans_billing_period(self):
        priced = item("messages", price=ItemPrice(amount=1, billing_method="usage_based"))

        result = validated(plan(priced, price=BasePrice(amount=20, interval="year")), FEATURES)

        assert result.terms.items[0].reset == Reset(interval="year")

    def test_an_unlimited_item_has_no_reset(self):
        unlimited = item("messages", unlimited=True, reset=Reset(interval="month"))

        assert validated(plan(unlimited), FEATURES).terms.items[0].reset is None

    def test_a_consumable_item_keeps_its_explicit_reset(self):
        reset = Reset(interval="week", interval_count=2)

        assert validated(plan(item("messages", reset=reset)), FEATURES).terms.items[0].reset == (
            reset
        )

    def test_a_credit_system_item_without_reset_or_price_is_a_lifetime_allowance(self):
        assert validated(plan(item("credits")), FEATURES).terms.items[0].reset == Reset(
            interval="one_off"
        )

    @pytest.mark.parametrize(
        "interval", ["hour", "day", "week", "month", "quarter", "semi_annual", "year"]
    )
    def test_a_non_consumable_item_with_a_recurring_reset_is_rejected(self, interval: str):
        bad = item("seats", reset=Reset(interval=interval))

        assert rejected_field(plan(item("sso"), bad)) == "items.1.reset"

    def test_a_non_consumable_item_with_a_one_off_reset_has_it_dropped(self):
        result = validated(
            plan(item("seats", included=3, reset=Reset(interval="one_off"))), FEATURES
        )

        assert result.terms.items[0].reset is None
        assert result.terms.items[0].included == 3

    def test_a_non_consumable_item_without_reset_never_resets(self):
        assert validated(plan(item("seats")), FEATURES).terms.items[0].reset is None

    def test_a_consumable_item_may_have_a_one_off_reset(self):
        reset = Reset(interval="one_off")

        assert validated(plan(item("messages", reset=reset)), FEATURES).terms.items[0].reset == (
            reset
        )

    @pytest.mark.parametrize("count", [0, -1])
    def test_a_reset_interval_count_below_one_is_rejected(self, count: int):
        bad = item("messages", reset=Reset(interval="month", interval_count=count))

        assert rejected_field(plan(bad)) == "items.0.reset.interval_count"


class TestItemPrices:
    def test_usage_based_pricing_of_a_non_consumable_feature_is_rejected(self):
        bad = priced("seats", billing_method="usage_based")

        assert rejected_field(plan(bad, price=MONTHLY)) == "items.0.price.billing_method"

    def test_usage_based_pricing_of_a_consumable_feature_is_accepted(self):
        result = validated(plan(priced(billing_method="usage_based"), price=MONTHLY), FEATURES)

        assert result.terms.items[0].price.billing_method == "usage_based"

    def test_a_price_with_both_amount_and_tiers_is_rejected(self):
        bad = priced(amount=1, tiers=tiers((10, 1), ("inf", 0.5)))

        assert rejected_field(plan(bad)) == "items.0.price"

    def test_a_price_with_neither_amount_nor_tiers_is_rejected(self):
        bad = item("messages", price=ItemPrice())

        assert rejected_field(plan(bad)) == "items.0.price"

    def test_a_negative_price_amount_is_rejected(self):
        assert rejected_field(plan(priced(amount=-0.01))) == "items.0.price.amount"

    def test_a_free_item_price_is_accepted(self):
        assert validated(plan(priced(amount=0)), FEATURES).terms.items[0].price.amount == 0

    @pytest.mark.parametrize("units", [0, -5])
    def test_billing_units_must_be_positive(self, units: float):
        assert rejected_field(plan(priced(billing_units=units))) == "items.0.price.billing_units"

    @pytest.mark.parametrize("limit", [0, -1])
    def test_max_purchase_must_be_positive(self, limit: float):
        assert rejected_field(plan(priced(max_purchase=limit))) == "items.0.price.max_purchase"


class TestTiers:
    def test_valid_increasing_tiers_ending_at_inf_are_accepted(self):
        good = priced(tiers=tiers((100, 0), (1000, 0.5), ("inf", 0.25)))

        assert validated(plan(good), FEATURES).terms.items[0].price.tiers == good.price.tiers

    def test_a_single_inf_tier_is_accepted(self):
        assert validated(plan(priced(tiers=tiers(("inf", 1)))), FEATURES).terms.items[0].price

    def test_no_tiers_at_all_is_rejected(self):
        assert rejected_field(plan(priced(tiers=()))) == "items.0.price.tiers"

    def test_the_last_tier_must_go_to_inf(self):
        bad = priced(tiers=tiers((10, 1), (20, 0.5), (30, 0.25)))

        assert rejected_field(plan(bad)) == "items.0.price.tiers.2.to"

    def test_tiers_must_go_up(self):
        bad = priced(tiers=tiers((10, 1), (20, 0.5), (15, 0.4), ("inf", 0.25)))

        assert rejected_field(plan(bad)) == "items.0.price.tiers.2.to"

    def test_a_tier_bound_equal_to_the_previous_one_is_rejected(self):
        bad = priced(tiers=tiers((10, 1), (10, 0.5), ("inf", 0.25)))

        assert rejected_field(plan(bad)) == "items.0.price.tiers.1.to"

    def test_a_first_tier_up_to_zero_is_rejected(self):
        bad = priced(tiers=tiers((0, 1), ("inf", 0.5)))

        assert rejected_field(plan(bad)) == "items.0.price.tiers.0.to"

    def test_only_the_last_tier_goes_to_inf(self):
        bad = priced(tiers=tiers((10, 1), ("inf", 0.5), ("inf", 0.25)))

        assert rejected_field(plan(bad)) == "items.0.price.tiers.1.to"

    def test_a_negative_tier_amount_is_rejected(self):
        bad = priced(tiers=tiers((10, 1), ("inf", -0.5)))

        assert rejected_field(plan(bad)) == "items.0.price.tiers.1.amount"

    def test_a_negative_tier_flat_amount_is_rejected(self):
        bad = priced(tiers=(Tier(to=10, amount=1, flat_amount=-5), Tier(to="inf", amount=0.5)))

        assert rejected_field(plan(bad)) == "items.0.price.tiers.0.flat_amount"


class TestDuplicates:
    def test_the_same_feature_with_the_same_reset_and_billing_is_rejected_at_its_second_place(
        self,
    ):
        reset = Reset(interval="month")
        bad = plan(
            item("messages", included=10, reset=reset),
            item("sso"),
            item("messages", included=20, reset=reset),
        )

        assert rejected_field(bad) == "items.2"

    def test_a_default_lifetime_reset_counts_as_the_same_reset_as_an_explicit_one(self):
        bad = plan(item("messages"), item("messages", reset=Reset(interval="one_off")))

        assert rejected_field(bad) == "items.1"

    def test_the_same_feature_with_different_reset_intervals_is_allowed(self):
        result = validated(
            plan(
                item("messages", included=10, reset=Reset(interval="day")),
                item("messages", included=100, reset=Reset(interval="month")),
            ),
            FEATURES,
        )

        assert [i.reset.interval for i in result.terms.items] == ["day", "month"]

    def test_a_feature_is_priced_at_most_once_per_plan(self):
        """One price per feature keeps the Stripe mirror one price per priced thing."""
        bad = plan(
            priced("messages", billing_method="prepaid"),
            priced("messages", billing_method="usage_based"),
            price=MONTHLY,
        )

        assert rejected_field(bad) == "items.1.price"

    def test_the_same_feature_priced_twice_the_same_way_is_rejected(self):
        bad = plan(priced("messages"), priced("messages", amount=2), price=MONTHLY)

        assert rejected_field(bad) == "items.1.price"

    def test_the_same_boolean_feature_twice_is_rejected(self):
        assert rejected_field(plan(item("sso"), item("sso"))) == "items.1"


class TestCreditSystemItems:
    def test_a_credit_system_and_one_of_its_metered_features_both_priced_is_rejected(self):
        bad = plan(
            priced("tokens", billing_method="usage_based"),
            priced("credits", billing_method="usage_based"),
            price=MONTHLY,
        )

        assert rejected_field(bad) == "items.1"

    def test_a_priced_credit_system_with_its_metered_features_only_granted_is_allowed(self):
        good = plan(item("messages", included=10), priced("credits"), price=MONTHLY)

        assert len(validated(good, FEATURES).terms.items) == 2

    def test_a_priced_metered_feature_with_its_credit_system_only_granted_is_allowed(self):
        good = plan(priced("messages"), item("credits", included=100), price=MONTHLY)

        assert len(validated(good, FEATURES).terms.items) == 2


class TestIntervals:
    def test_an_item_interval_different_from_the_plans_is_rejected(self):
        bad = plan(priced(interval="month"), priced("tokens", interval="year"), price=MONTHLY)

        assert rejected_field(bad) == "items.1.price.interval"

    def test_an_item_without_interval_takes_the_plans(self):
        good = plan(priced(), price=BasePrice(amount=100, interval="year"))

        assert validated(good, FEATURES).interval == "year"

    def test_items_of_a_plan_without_base_price_must_share_the_first_priced_items_interval(self):
        bad = plan(priced("messages", interval="month"), priced("tokens", interval="quarter"))

        assert rejected_field(bad) == "items.1.price.interval"

    def test_a_usage_based_item_on_a_one_off_plan_is_rejected(self):
        bad = plan(
            priced(billing_method="usage_based"), price=BasePrice(amount=10, interval="one_off")
        )

        assert rejected_field(bad) == "items.0.price.billing_method"

    def test_a_tiered_item_on_a_one_off_plan_is_rejected(self):
        bad = plan(
            item("sso"),
            priced(tiers=tiers((10, 1), ("inf", 0.5))),
            price=BasePrice(amount=10, interval="one_off"),
        )

        assert rejected_field(bad) == "items.1.price.tiers"

    def test_a_flat_prepaid_item_on_a_one_off_plan_is_accepted(self):
        good = plan(priced(interval="one_off"))

        assert validated(good, FEATURES).one_off is True

    @pytest.mark.parametrize(
        ("interval", "count"),
        [("quarter", 5), ("month", 13), ("semi_annual", 3), ("year", 2)],
    )
    def test_a_base_billing_period_over_one_year_is_rejected(self, interval: str, count: int):
        bad = plan(price=BasePrice(amount=10, interval=interval, interval_count=count))

        assert rejected_field(bad) == "price.interval_count"

    @pytest.mark.parametrize(
        ("interval", "count"),
        [("month", 12), ("quarter", 4), ("semi_annual", 2), ("year", 1), ("one_off", 5)],
    )
    def test_a_billing_period_of_up_to_one_year_is_accepted(self, interval: str, count: int):
        good = plan(price=BasePrice(amount=10, interval=interval, interval_count=count))

        assert validated(good, FEATURES).terms.price.interval_count == count

    def test_an_item_billing_period_over_one_year_is_rejected(self):
        bad = plan(item("sso"), priced(interval="quarter", interval_count=5))

        assert rejected_field(bad) == "items.1.price.interval_count"


class TestBasePrice:
    def test_a_negative_base_price_is_rejected(self):
        assert rejected_field(plan(price=BasePrice(amount=-1, interval="month"))) == "price.amount"

    def test_a_base_interval_count_below_one_is_rejected(self):
        bad = plan(price=BasePrice(amount=1, interval="month", interval_count=0))

        assert rejected_field(bad) == "price.interval_count"


class TestFreeTrial:
    def test_a_paid_recurring_plan_may_have_a_free_trial(self):
        trial = FreeTrial(duration_length=14, duration_type="day")

        assert validated(plan(price=MONTHLY, free_trial=trial), FEATURES).terms.free_trial == trial

    def test_a_free_plan_with_a_free_trial_is_rejected(self):
        bad = plan(item("messages"), free_trial=FreeTrial(duration_length=7))

        assert rejected_field(bad) == "free_trial"

    def test_a_plan_with_a_zero_base_price_and_a_free_trial_is_rejected(self):
        bad = plan(
            price=BasePrice(amount=0, interval="month"), free_trial=FreeTrial(duration_length=7)
        )

        assert rejected_field(bad) == "free_trial"

    def test_a_one_off_plan_with_a_free_trial_is_rejected(self):
        bad = plan(
            price=BasePrice(amount=10, interval="one_off"), free_trial=FreeTrial(duration_length=7)
        )

        assert rejected_field(bad) == "free_trial"

    def test_a_free_trial_of_no_length_is_rejected(self):
        bad = plan(price=MONTHLY, free_trial=FreeTrial(duration_length=0))

        assert rejected_field(bad) == "free_trial.duration_length"


class TestAutoEnable:
    def test_a_free_plan_may_be_auto_enabled(self):
        assert validated(plan(item("messages"), auto_enable=True), FEATURES).auto_enable is True

    def test_a_paid_plan_cannot_be_auto_enabled(self):
        assert rejected_field(plan(price=MONTHLY, auto_enable=True)) == "auto_enable"

    def test_a_plan_with_a_priced_item_cannot_be_auto_enabled(self):
        assert rejected_field(plan(priced(amount=0), auto_enable=True)) == "auto_enable"


class TestValidatedResult:
    def test_only_item_defaults_change(self):
        original = plan(
            item("messages", included=100),
            item("seats", included=2, reset=Reset(interval="one_off")),
            item("sso"),
            price=MONTHLY,
            description="For teams",
            group="main",
            version=3,
            metadata={"tier": "pro"},
        )

        result = validated(original, FEATURES)

        assert result.model_dump(exclude={"terms"}) == original.model_dump(exclude={"terms"})
        assert result.terms.price == original.terms.price
        assert result.terms.items == (
            item("messages", included=100, reset=Reset(interval="one_off")),
            item("seats", included=2),
            item("sso"),
        )

    def test_validating_twice_gives_the_same_plan(self):
        once = validated(plan(item("messages"), priced("tokens"), price=MONTHLY), FEATURES)

        assert validated(once, FEATURES) == once


class TestPlanProperties:
    def test_a_plan_without_any_price_is_free(self):
        assert plan(item("messages"), item("sso")).free is True

    def test_a_plan_with_a_zero_base_price_is_free(self):
        assert plan(price=BasePrice(amount=0, interval="month")).free is True

    def test_a_plan_with_a_positive_base_price_is_not_free(self):
        assert plan(price=BasePrice(amount=0.01, interval="month")).free is False

    def test_a_plan_with_any_priced_item_is_not_free_even_at_zero(self):
        assert plan(priced(amount=0)).free is False

    def test_the_interval_is_the_base_prices(self):
        assert plan(
            priced(interval="month"), price=BasePrice(amount=1, interval="year")
        ).interval == ("year")

    def test_without_base_price_the_interval_is_the_first_priced_item_with_one(self):
        assert plan(item("sso"), priced(), priced("tokens", interval="quarter")).interval == (
            "quarter"
        )

    def test_a_plan_without_priced_intervals_has_no_interval(self):
        assert plan(item("messages"), priced()).interval is None

    def test_a_plan_with_a_one_off_base_price_is_one_off(self):
        assert plan(price=BasePrice(amount=5, interval="one_off")).one_off is True

    def test_a_plan_with_only_one_off_priced_items_is_one_off(self):
        assert plan(priced(interval="one_off")).one_off is True

    @pytest.mark.parametrize("interval", ["month", "quarter", "semi_annual", "year"])
    def test_a_recurring_plan_is_not_one_off(self, interval: str):
        assert plan(price=BasePrice(amount=5, interval=interval)).one_off is False

    def test_a_plan_without_interval_is_not_one_off(self):
        assert plan(item("messages")).one_off is False


class TestNeedsNewVersion:
    def test_a_version_no_customer_holds_is_changed_in_place(self):
        current = plan(price=MONTHLY, in_use=False)
        terms = PlanTerms(price=BasePrice(amount=30, interval="month"))

        assert needs_new_version(current, terms) is False

    def test_new_terms_for_a_version_in_use_need_a_new_version(self):
        current = plan(price=MONTHLY, in_use=True)
        terms = PlanTerms(price=BasePrice(amount=30, interval="month"))

        assert needs_new_version(current, terms) is True

    def test_a_new_item_for_a_version_in_use_needs_a_new_version(self):
        current = plan(item("messages"), price=MONTHLY, in_use=True)
        terms = current.terms.model_copy(update={"items": (item("messages"), item("sso"))})

        assert needs_new_version(current, terms) is True

    def test_the_same_terms_for_a_version_in_use_need_no_new_version(self):
        current = plan(item("messages"), price=MONTHLY, in_use=True)
        same = PlanTerms(price=BasePrice(amount=20, interval="month"), items=(item("messages"),))

        assert needs_new_version(current, same) is False

    def test_a_name_only_change_never_needs_a_new_version(self):
        current = plan(item("messages"), price=MONTHLY, in_use=True)
        renamed = current.model_copy(update={"name": "Pro (2025)", "description": "New copy"})

        assert needs_new_version(current, renamed.terms) is False


class TestStripeBillingShape:
    def test_tier_bounds_must_fall_on_whole_packages(self):
        bad = plan(
            priced(
                "seats",
                billing_units=100,
                tiers=tiers((50, 1), (100, 1), ("inf", 1)),
            ),
            price=MONTHLY,
        )

        assert rejected_field(bad) == "items.0.price.tiers.0.to"

    def test_tier_bounds_on_whole_packages_are_fine(self):
        good = plan(
            priced("messages", billing_units=100, tiers=tiers((200, 1), ("inf", 1))),
            price=MONTHLY,
        )

        assert validated(good, FEATURES).terms.items[0].price is not None

    def test_an_item_billed_on_another_cadence_than_the_plan_is_rejected(self):
        bad = plan(priced("messages", interval_count=3), price=MONTHLY)

        assert rejected_field(bad) == "items.0.price.interval_count"

    def test_an_item_interval_count_of_zero_is_rejected(self):
        bad = plan(priced("messages", interval_count=0))

        assert rejected_field(bad) == "items.0.price.interval_count"
