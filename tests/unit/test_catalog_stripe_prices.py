"""How a plan version looks in Stripe: `price_specs()` and `product_id()`, pure translation."""

from __future__ import annotations

import re

import pytest

from billing.domain.plans import BasePrice, ItemPrice, Plan, PlanItem, PlanTerms
from billing.domain.terms import Tier
from billing.stripe_api.catalog import PriceSpec, price_specs, product_id

USD = "usd"


def plan(
    *items: PlanItem,
    price: BasePrice | None = None,
    id: str = "pro",
    name: str = "Pro",
    version: int = 1,
) -> Plan:
    return Plan(id=id, name=name, version=version, terms=PlanTerms(price=price, items=items))


def monthly(amount: float = 20, interval: str = "month", count: int = 1) -> BasePrice:
    return BasePrice(amount=amount, interval=interval, interval_count=count)


def priced(feature_id: str = "messages", **price: object) -> PlanItem:
    if "tiers" not in price:
        price.setdefault("amount", 1)
    return PlanItem(feature_id=feature_id, price=ItemPrice(**price))


def only(specs: list[PriceSpec], feature_id: str | None) -> PriceSpec:
    matching = [s for s in specs if s.feature_id == feature_id]
    assert len(matching) == 1
    return matching[0]


def keys(specs: list[PriceSpec]) -> dict[str | None, str]:
    return {s.feature_id: s.lookup_key for s in specs}


FULL = plan(
    priced("seats", amount=10),
    priced("messages", amount=0.02, billing_method="usage_based"),
    PlanItem(feature_id="sso"),
    price=monthly(49),
)


class TestProductId:
    def test_is_deterministic_and_prefixed(self):
        assert product_id("pro") == product_id("pro")
        assert re.fullmatch(r"bl_plan_[0-9a-f]{24}", product_id("pro"))

    def test_differs_between_plans(self):
        assert product_id("pro") != product_id("team")
        assert product_id("pro") != product_id("Pro")

    @pytest.mark.parametrize("plan_id", ["x" * 256, "plan with spaces/ünïcode?&=", ""])
    def test_is_safe_for_stripe_whatever_the_plan_id(self, plan_id: str):
        assert re.fullmatch(r"bl_plan_[0-9a-f]{24}", product_id(plan_id))


class TestLookupKeys:
    def test_the_same_plan_gives_the_same_keys(self):
        again = plan(
            priced("seats", amount=10),
            priced("messages", amount=0.02, billing_method="usage_based"),
            PlanItem(feature_id="sso"),
            price=monthly(49),
        )

        assert price_specs(FULL, USD) == price_specs(again, USD)

    def test_a_changed_amount_changes_that_prices_key_only(self):
        before = keys(price_specs(FULL, USD))
        changed = FULL.model_copy(
            update={"terms": FULL.terms.model_copy(update={"price": monthly(59)})}
        )

        after = keys(price_specs(changed, USD))

        assert after[None] != before[None]
        assert after["seats"] == before["seats"]
        assert after["messages"] == before["messages"]

    def test_a_changed_item_amount_changes_that_items_key(self):
        a = keys(price_specs(plan(priced("seats", amount=10), price=monthly()), USD))
        b = keys(price_specs(plan(priced("seats", amount=11), price=monthly()), USD))

        assert a["seats"] != b["seats"]
        assert a[None] == b[None]

    def test_a_different_version_gives_different_keys(self):
        v1 = keys(price_specs(FULL, USD))
        v2 = keys(price_specs(FULL.model_copy(update={"version": 2}), USD))

        assert v1.keys() == v2.keys()
        assert all(v1[f] != v2[f] for f in v1)
        assert "_v2_" in v2[None]

    def test_a_different_currency_gives_different_keys(self):
        usd, eur = keys(price_specs(FULL, "usd")), keys(price_specs(FULL, "eur"))

        assert all(usd[f] != eur[f] for f in usd)

    def test_a_different_plan_gives_different_keys(self):
        other = FULL.model_copy(update={"id": "team"})

        assert set(keys(price_specs(FULL, USD)).values()).isdisjoint(
            keys(price_specs(other, USD)).values()
        )

    def test_a_renamed_plan_keeps_its_keys(self):
        renamed = FULL.model_copy(update={"name": "Pro (new name)"})

        assert keys(price_specs(renamed, USD)) == keys(price_specs(FULL, USD))

    def test_keys_within_a_plan_are_distinct(self):
        specs = price_specs(FULL, USD)

        assert len({s.lookup_key for s in specs}) == len(specs) == 3

    def test_keys_fit_stripe_even_for_a_256_character_plan_id(self):
        long = plan(
            priced("f" * 256, amount=1),
            price=monthly(),
            id="p" * 256,
            name="n" * 400,
            version=2_147_483_647,
        )

        specs = price_specs(long, USD)

        assert len(specs) == 2
        assert all(len(s.lookup_key) <= 200 for s in specs)
        assert all(s.params["lookup_key"] == s.lookup_key for s in specs)
        assert all(len(s.params["nickname"]) <= 250 for s in specs)
        assert all(s.params["metadata"]["billing_plan_id"] == "p" * 256 for s in specs)

    def test_a_key_only_uses_safe_characters(self):
        weird = plan(priced("ünï cøde/feature", amount=1), price=monthly(), id="plan/with spaces")

        assert all(re.fullmatch(r"[a-z0-9_]+", s.lookup_key) for s in price_specs(weird, USD))


class TestBasePrice:
    @pytest.mark.parametrize(
        ("amount", "minor"),
        [
            (9.99, "999"),
            (0.001, "0.1"),
            (20, "2000"),
            (100, "10000"),
            (19.9, "1990"),
            (0.01, "1"),
            (1234.5678, "123456.78"),
        ],
    )
    def test_the_amount_is_exact_minor_units(self, amount: float, minor: str):
        spec = only(price_specs(plan(price=monthly(amount)), USD), None)

        assert spec.params["unit_amount_decimal"] == minor

    def test_the_whole_base_spec(self):
        spec = only(price_specs(plan(price=monthly(9.99), version=3), "eur"), None)

        assert spec.feature_id is None
        assert spec.params == {
            "currency": "eur",
            "unit_amount_decimal": "999",
            "recurring": {"interval": "month", "interval_count": 1},
            "lookup_key": spec.lookup_key,
            "nickname": "Pro (base)",
            "metadata": {"billing_plan_id": "pro", "billing_plan_version": "3"},
        }

    @pytest.mark.parametrize(
        ("interval", "count", "recurring"),
        [
            ("month", 1, {"interval": "month", "interval_count": 1}),
            ("month", 2, {"interval": "month", "interval_count": 2}),
            ("quarter", 1, {"interval": "month", "interval_count": 3}),
            ("quarter", 2, {"interval": "month", "interval_count": 6}),
            ("semi_annual", 1, {"interval": "month", "interval_count": 6}),
            ("year", 1, {"interval": "year", "interval_count": 1}),
        ],
    )
    def test_recurring_cadence(self, interval: str, count: int, recurring: dict):
        spec = only(price_specs(plan(price=monthly(10, interval, count)), USD), None)

        assert spec.params["recurring"] == recurring

    def test_a_one_off_price_is_not_recurring(self):
        spec = only(price_specs(plan(price=monthly(10, "one_off")), USD), None)

        assert "recurring" not in spec.params
        assert spec.params["unit_amount_decimal"] == "1000"

    def test_a_free_base_price_has_no_spec(self):
        specs = price_specs(plan(priced("seats", amount=5), price=monthly(0)), USD)

        assert [s.feature_id for s in specs] == ["seats"]
        assert specs[0].params["recurring"] == {"interval": "month", "interval_count": 1}

    def test_a_plan_without_prices_has_no_specs(self):
        assert price_specs(plan(PlanItem(feature_id="messages", included=10)), USD) == []


class TestItemPrices:
    def test_a_prepaid_flat_item_is_a_recurring_price_per_package(self):
        spec = only(
            price_specs(plan(priced("seats", amount=12.5, billing_units=10), price=monthly()), USD),
            "seats",
        )

        assert spec.params == {
            "currency": USD,
            "unit_amount_decimal": "1250",
            "recurring": {"interval": "month", "interval_count": 1},
            "lookup_key": spec.lookup_key,
            "nickname": "Pro: seats",
            "metadata": {
                "billing_plan_id": "pro",
                "billing_plan_version": "1",
                "billing_feature_id": "seats",
            },
        }

    def test_an_items_cadence_follows_the_plans_interval_and_its_own_count(self):
        spec = only(
            price_specs(
                plan(priced("seats", interval_count=2), price=monthly(10, "quarter", 2)), USD
            ),
            "seats",
        )

        assert spec.params["recurring"] == {"interval": "month", "interval_count": 6}

    def test_a_usage_based_flat_item_is_a_one_time_price(self):
        spec = only(
            price_specs(
                plan(priced(amount=0.001, billing_method="usage_based"), price=monthly()), USD
            ),
            "messages",
        )

        assert "recurring" not in spec.params
        assert "billing_scheme" not in spec.params
        assert spec.params["unit_amount_decimal"] == "0.1"

    def test_a_tiered_usage_based_item_has_no_spec(self):
        tiered = priced(
            billing_method="usage_based",
            tiers=(Tier(to=1000, amount=0.01), Tier(to="inf", amount=0.005)),
        )

        specs = price_specs(plan(tiered, priced("seats"), price=monthly()), USD)

        assert [s.feature_id for s in specs] == [None, "seats"]

    def test_a_prepaid_item_of_a_one_off_plan_is_a_one_time_price(self):
        spec = only(
            price_specs(plan(priced("credits", amount=5, interval="one_off")), USD), "credits"
        )

        assert "recurring" not in spec.params

    def test_unpriced_items_have_no_spec(self):
        specs = price_specs(plan(PlanItem(feature_id="sso"), price=monthly()), USD)

        assert [s.feature_id for s in specs] == [None]

    def test_a_zero_amount_item_still_has_a_price(self):
        spec = only(price_specs(plan(priced("seats", amount=0), price=monthly()), USD), "seats")

        assert spec.params["unit_amount_decimal"] == "0"

    def test_specs_follow_the_plans_item_order_after_the_base(self):
        specs = price_specs(FULL, USD)

        assert [s.feature_id for s in specs] == [None, "seats", "messages"]
        assert [s.params["nickname"] for s in specs] == [
            "Pro (base)",
            "Pro: seats",
            "Pro: messages",
        ]


class TestPrepaidTiers:
    def spec(self, *tiers: Tier, billing_units: float = 1, **price: object) -> PriceSpec:
        item = priced("seats", tiers=tiers, billing_units=billing_units, **price)
        return only(price_specs(plan(item, price=monthly()), USD), "seats")

    def test_tiers_become_a_tiered_graduated_price(self):
        spec = self.spec(Tier(to=10, amount=5), Tier(to="inf", amount=4))

        assert spec.params["billing_scheme"] == "tiered"
        assert spec.params["tiers_mode"] == "graduated"
        assert spec.params["tiers"] == [
            {"up_to": 10, "unit_amount_decimal": "500"},
            {"up_to": "inf", "unit_amount_decimal": "400"},
        ]
        assert spec.params["recurring"] == {"interval": "month", "interval_count": 1}
        assert "unit_amount_decimal" not in spec.params

    def test_volume_tiers_keep_their_mode(self):
        spec = self.spec(Tier(to=10, amount=5), Tier(to="inf", amount=4), tier_behavior="volume")

        assert spec.params["tiers_mode"] == "volume"

    def test_bounds_are_counted_in_packages_of_billing_units_and_end_at_inf(self):
        spec = self.spec(
            Tier(to=50, amount=0),
            Tier(to=1000, amount=2),
            Tier(to=1050, amount=1.5),
            Tier(to="inf", amount=1),
            billing_units=100,
        )

        assert [t["up_to"] for t in spec.params["tiers"]] == [1, 10, 11, "inf"]

    def test_a_flat_amount_is_carried_in_minor_units(self):
        spec = self.spec(Tier(to=10, amount=0, flat_amount=99.99), Tier(to="inf", amount=1))

        assert spec.params["tiers"][0] == {
            "up_to": 10,
            "unit_amount_decimal": "0",
            "flat_amount_decimal": "9999",
        }
        assert "flat_amount_decimal" not in spec.params["tiers"][1]

    def test_tier_changes_change_the_key(self):
        a = self.spec(Tier(to=10, amount=5), Tier(to="inf", amount=4))
        b = self.spec(Tier(to=20, amount=5), Tier(to="inf", amount=4))

        assert a.lookup_key != b.lookup_key


@pytest.mark.parametrize(
    ("currency", "minor"),
    [("usd", "2000"), ("jpy", "20"), ("JPY", "20"), ("rwf", "20"), ("kwd", "20000")],
)
def test_prices_are_sent_in_the_minor_units_stripe_counts_their_currency_in(
    currency: str, minor: str
) -> None:
    """Yen and the like have no minor unit (20 is 20); dinars count thousandths."""
    (spec,) = price_specs(plan(price=monthly(20)), currency)
    assert spec.params["unit_amount_decimal"] == minor
