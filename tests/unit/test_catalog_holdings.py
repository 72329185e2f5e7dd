"""What a customer holds once given a plan: `holdings_of()`, `default_plans()`, `balances()`."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from billing.domain.features import CreditCost, Feature
from billing.domain.holdings import (
    Flag,
    Grant,
    Holdings,
    Subscription,
    balances,
    combined,
    default_plans,
    holdings_of,
)
from billing.domain.plans import BasePrice, ItemPrice, Plan, PlanItem, PlanTerms, Reset


def at(*parts: int) -> int:
    return int(datetime(*parts, tzinfo=UTC).timestamp()) * 1000


NOW = at(2024, 1, 31, 12)

FEATURES = {
    "messages": Feature(id="messages", name="Messages", type="metered", consumable=True),
    "seats": Feature(id="seats", name="Seats", type="metered", consumable=False),
    "sso": Feature(id="sso", name="SSO", type="boolean", consumable=False),
    "credits": Feature(
        id="credits",
        name="Credits",
        type="credit_system",
        consumable=True,
        credit_schema=(CreditCost(metered_feature_id="messages", credit_cost=1),),
    ),
}


def sequential_ids() -> Callable[[str], str]:
    counter = itertools.count(1)
    return lambda prefix: f"{prefix}_{next(counter)}"


def plan(*items: PlanItem, price: BasePrice | None = None, **fields: object) -> Plan:
    return Plan(id="pro", name="Pro", terms=PlanTerms(price=price, items=items), **fields)


MONTHLY = Reset(interval="month")
WEEKLY = Reset(interval="week")

PRO = plan(
    PlanItem(feature_id="messages", included=1000, reset=MONTHLY),
    PlanItem(feature_id="sso"),
    PlanItem(feature_id="seats", included=3),
    PlanItem(feature_id="credits", included=50, reset=WEEKLY),
    PlanItem(feature_id="messages", unlimited=True, reset=Reset(interval="day")),
    version=4,
    add_on=True,
)


class TestHoldingsOf:
    def test_the_subscription_names_the_plan_version_and_starts_now(self):
        held = holdings_of(PRO, FEATURES, NOW, sequential_ids())

        assert held.subscriptions == (
            Subscription(
                id="sub_1",
                plan_id="pro",
                plan_version=4,
                one_off=False,
                auto_enable=False,
                add_on=True,
                started_at=NOW,
            ),
        )

    def test_an_auto_enabled_subscription_says_so(self):
        held = holdings_of(PRO, FEATURES, NOW, sequential_ids(), auto_enabled=True)

        assert held.subscriptions[0].auto_enable is True

    def test_a_one_off_plan_is_held_as_a_one_off_purchase(self):
        top_up = plan(
            PlanItem(feature_id="messages", included=500, reset=Reset(interval="one_off")),
            price=BasePrice(amount=10, interval="one_off"),
        )

        held = holdings_of(top_up, FEATURES, NOW, sequential_ids())

        assert held.subscriptions[0].one_off is True
        assert held.grants[0].next_reset_at is None

    @pytest.mark.parametrize("interval", ["month", "year"])
    def test_a_recurring_plan_is_not_a_one_off_purchase(self, interval: str):
        held = holdings_of(
            plan(price=BasePrice(amount=10, interval=interval)), FEATURES, NOW, sequential_ids()
        )

        assert held.subscriptions[0].one_off is False

    def test_a_grant_per_metered_or_credit_item_with_its_next_reset(self):
        held = holdings_of(PRO, FEATURES, NOW, sequential_ids())

        assert held.grants == (
            Grant(
                id="cus_ent_2",
                feature_id="messages",
                plan_id="pro",
                included=1000,
                reset=MONTHLY,
                anchor_at=NOW,
                next_reset_at=at(2024, 2, 29, 12),
            ),
            Grant(
                id="cus_ent_4",
                feature_id="seats",
                plan_id="pro",
                included=3,
                anchor_at=NOW,
                next_reset_at=None,
            ),
            Grant(
                id="cus_ent_5",
                feature_id="credits",
                plan_id="pro",
                included=50,
                reset=WEEKLY,
                anchor_at=NOW,
                next_reset_at=at(2024, 2, 7, 12),
            ),
            Grant(
                id="cus_ent_6",
                feature_id="messages",
                plan_id="pro",
                included=0,
                unlimited=True,
                reset=Reset(interval="day"),
                anchor_at=NOW,
                next_reset_at=at(2024, 2, 1, 12),
            ),
        )

    def test_grants_start_unused_with_nothing_prepaid(self):
        held = holdings_of(PRO, FEATURES, NOW, sequential_ids())

        assert all(g.usage == 0 and g.prepaid == 0 for g in held.grants)
        assert [g.remaining for g in held.grants] == [1000, 3, 50, 0]

    def test_a_flag_per_boolean_item(self):
        held = holdings_of(PRO, FEATURES, NOW, sequential_ids())

        assert held.flags == (Flag(id="cus_ent_3", feature_id="sso", plan_id="pro"),)

    def test_a_grant_carries_its_items_price(self):
        price = ItemPrice(amount=0.5, billing_method="usage_based", max_purchase=100)
        held = holdings_of(
            plan(
                PlanItem(feature_id="messages", included=10, reset=MONTHLY, price=price),
                price=BasePrice(amount=10, interval="month"),
            ),
            FEATURES,
            NOW,
            sequential_ids(),
        )

        assert held.grants[0].price == price

    def test_the_same_inputs_give_the_same_holdings(self):
        first = holdings_of(PRO, FEATURES, NOW, sequential_ids())
        second = holdings_of(PRO, FEATURES, NOW, sequential_ids())

        assert first == second

    def test_every_id_comes_from_new_id(self):
        asked: list[str] = []

        def new_id(prefix: str) -> str:
            asked.append(prefix)
            return f"{prefix}-{len(asked)}"

        held = holdings_of(PRO, FEATURES, NOW, new_id)

        assert asked == ["sub"] + ["cus_ent"] * 5
        ids = [held.subscriptions[0].id] + [g.id for g in held.grants] + [f.id for f in held.flags]
        assert sorted(ids) == sorted(f"{p}-{i}" for i, p in enumerate(asked, start=1))

    def test_a_plan_without_items_gives_only_a_subscription(self):
        held = holdings_of(plan(), FEATURES, NOW, sequential_ids())

        assert len(held.subscriptions) == 1
        assert held.grants == ()
        assert held.flags == ()

    def test_holdings_add_up(self):
        first = holdings_of(PRO, FEATURES, NOW, sequential_ids())
        second = holdings_of(plan(PlanItem(feature_id="sso")), FEATURES, NOW, sequential_ids())

        total = combined([first, second])

        assert total == Holdings(
            subscriptions=first.subscriptions + second.subscriptions,
            grants=first.grants,
            flags=first.flags + second.flags,
        )


class TestDefaultPlans:
    FREE = Plan(id="free", name="Free", auto_enable=True)
    STARTER = Plan(id="starter", name="Starter", auto_enable=True)
    PRO = Plan(id="pro", name="Pro")
    OLD = Plan(id="old", name="Old", auto_enable=True, archived=True)
    ALL = (FREE, PRO, OLD, STARTER)

    def test_without_a_choice_every_live_auto_enable_plan(self):
        assert default_plans(self.ALL, None) == [self.FREE, self.STARTER]

    def test_a_chosen_plan_replaces_the_auto_enable_ones(self):
        assert default_plans(self.ALL, "pro") == [self.PRO]

    def test_a_chosen_auto_enable_plan_comes_alone(self):
        assert default_plans(self.ALL, "starter") == [self.STARTER]

    def test_an_archived_plan_is_never_a_default_even_when_chosen(self):
        assert default_plans(self.ALL, "old") == []

    def test_an_unknown_chosen_plan_gives_nothing(self):
        assert default_plans(self.ALL, "nope") == []

    def test_no_plans_give_nothing(self):
        assert default_plans([], None) == []

    def test_any_iterable_of_plans_is_read(self):
        assert default_plans(iter(self.ALL), None) == [self.FREE, self.STARTER]


def grant(feature_id: str = "messages", **fields: object) -> Grant:
    fields.setdefault("id", "g")
    fields.setdefault("included", 0)
    return Grant(feature_id=feature_id, plan_id="pro", anchor_at=NOW, **fields)


class TestBalances:
    def test_grants_of_a_feature_are_summed(self):
        grants = [
            grant(id="a", included=100, prepaid=50, usage=30, next_reset_at=at(2024, 3, 1)),
            grant(id="b", included=20, usage=25, next_reset_at=at(2024, 2, 1)),
            grant(id="c", included=5),
        ]

        balance = balances(grants)["messages"]

        assert balance.feature_id == "messages"
        # b is used 5 past its grant, with no overage price: those 5 count as purchased.
        assert balance.granted == 180
        assert balance.usage == 55
        assert balance.remaining == 125
        assert balance.unlimited is False
        assert balance.overage_allowed is False
        assert balance.max_purchase is None
        assert balance.next_reset_at == at(2024, 2, 1)
        assert balance.grants == tuple(grants)

    def test_each_feature_gets_its_own_balance(self):
        grants = [
            grant("messages", id="a", included=10),
            grant("seats", id="b", included=3, usage=1),
            grant("messages", id="c", included=5, usage=2),
        ]

        summary = balances(grants)

        assert sorted(summary) == ["messages", "seats"]
        assert (summary["messages"].granted, summary["messages"].remaining) == (15, 13)
        assert (summary["seats"].granted, summary["seats"].remaining) == (3, 2)
        assert [g.id for g in summary["messages"].grants] == ["a", "c"]

    def test_one_unlimited_grant_makes_the_feature_unlimited(self):
        summary = balances([grant(id="a", included=10), grant(id="b", unlimited=True)])

        assert summary["messages"].unlimited is True

    def test_a_usage_based_price_allows_overage(self):
        summary = balances(
            [
                grant(id="a", included=10, price=ItemPrice(amount=1)),
                grant(id="b", price=ItemPrice(amount=0.1, billing_method="usage_based")),
            ]
        )

        assert summary["messages"].overage_allowed is True

    def test_a_prepaid_price_alone_allows_no_overage(self):
        summary = balances([grant(id="a", included=10, price=ItemPrice(amount=1))])

        assert summary["messages"].overage_allowed is False

    def test_the_max_purchase_of_a_priced_grant_is_reported(self):
        summary = balances(
            [grant(id="a"), grant(id="b", price=ItemPrice(amount=1, max_purchase=40))]
        )

        assert summary["messages"].max_purchase == 40

    def test_without_any_reset_the_balance_never_resets(self):
        summary = balances([grant(id="a", included=1), grant(id="b", included=2)])

        assert summary["messages"].next_reset_at is None

    def test_the_earliest_reset_is_reported_whatever_the_order(self):
        resets = [at(2024, 5, 1), None, at(2024, 2, 1, 9), at(2024, 3, 1)]
        grants = [grant(id=str(i), next_reset_at=r) for i, r in enumerate(resets)]

        assert balances(grants)["messages"].next_reset_at == at(2024, 2, 1, 9)
        assert balances(reversed(grants))["messages"].next_reset_at == at(2024, 2, 1, 9)

    def test_usage_past_a_grant_without_overage_counts_as_purchased(self):
        balance = balances([grant(id="a", included=10, usage=12)])["messages"]

        assert (balance.granted, balance.usage, balance.remaining) == (12, 12, 0)

    def test_usage_past_a_grant_with_a_usage_based_price_is_overage(self):
        overage = ItemPrice(amount=1, billing_method="usage_based")
        balance = balances([grant(id="a", included=10, usage=12, price=overage)])["messages"]

        assert (balance.granted, balance.usage, balance.remaining) == (10, 12, -2)

    def test_an_unlimited_balance_used_stays_unlimited_with_nothing_remaining(self):
        balance = balances([grant(id="a", unlimited=True, usage=7)])["messages"]

        assert (balance.unlimited, balance.usage, balance.remaining) == (True, 7, 0)

    def test_no_grants_give_no_balances(self):
        assert balances([]) == {}

    def test_balances_of_a_plans_holdings(self):
        held = holdings_of(PRO, FEATURES, NOW, sequential_ids())

        summary = balances(held.grants)

        assert sorted(summary) == ["credits", "messages", "seats"]
        assert summary["messages"].granted == 1000
        assert summary["messages"].unlimited is True
        assert summary["messages"].next_reset_at == at(2024, 2, 1, 12)
        assert summary["seats"].next_reset_at is None
        assert summary["credits"].next_reset_at == at(2024, 2, 7, 12)
