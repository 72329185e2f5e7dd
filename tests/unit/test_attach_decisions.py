"""How `billing.attach` decides: kind of change, when it applies, how it is paid
(billing.domain.attach, pure)."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from billing.domain.attach import (
    AttachOptions,
    decide,
    is_upgrade,
    left_behind,
    purchased_holdings,
    scheduled,
    seats_kept,
    trial_end,
)
from billing.domain.errors import InvalidRequest, PlanAlreadyAttached
from billing.domain.features import Feature
from billing.domain.holdings import Flag, Grant, Holdings, Subscription
from billing.domain.plans import (
    BasePrice,
    FreeTrial,
    ItemPrice,
    Plan,
    PlanItem,
    PlanTerms,
    StripeMirror,
)
from billing.domain.quantities import prepaid_packages
from billing.domain.terms import Reset

NOW = 1_706_702_400_000  # 2024-01-31 12:00 UTC

FEATURES = {
    "messages": Feature(id="messages", name="Messages", type="metered", consumable=True),
    "seats": Feature(id="seats", name="Seats", type="metered", consumable=False),
    "sso": Feature(id="sso", name="SSO", type="boolean", consumable=False),
}


def plan(
    plan_id: str,
    amount: str | None = None,
    interval: str = "month",
    group: str | None = None,
    add_on: bool = False,
    items: tuple[PlanItem, ...] = (),
    trial: FreeTrial | None = None,
) -> Plan:
    price = None if amount is None else BasePrice(amount=Decimal(amount), interval=interval)  # type: ignore[arg-type]
    return Plan(
        id=plan_id,
        name=plan_id.title(),
        group=group,
        add_on=add_on,
        terms=PlanTerms(price=price, items=items, free_trial=trial),
    )


FREE = plan("free", items=(PlanItem(feature_id="messages", included=Decimal(10)),))
PRO = plan("pro", "20", items=(PlanItem(feature_id="messages", included=Decimal(1000)),))
PREMIUM = plan("premium", "50")
PRO_YEARLY = plan("pro_yearly", "240", interval="year")
TOP_UP = plan("top_up", "5", interval="one_off")
ADD_ON = plan("support", "10", add_on=True)
SEATS = PlanItem(
    feature_id="seats",
    included=Decimal(2),
    price=ItemPrice(amount=Decimal(8), billing_units=Decimal(5), billing_method="prepaid"),
)
TEAM = plan("team", "30", items=(SEATS,))


def holding(*plans: Plan) -> tuple[Holdings, dict[str, Plan]]:
    subs = tuple(
        Subscription(
            id=f"sub_{p.id}",
            plan_id=p.id,
            plan_version=p.version,
            one_off=p.one_off,
            add_on=p.add_on,
            started_at=NOW,
        )
        for p in plans
    )
    return Holdings(subscriptions=subs), {f"sub_{p.id}": p for p in plans}


def decided(wanted: Plan, *held: Plan, card: bool = False, **options: object):  # type: ignore[no-untyped-def]
    holdings, held_plans = holding(*held)
    return decide(wanted, holdings, held_plans, card, AttachOptions(**options))  # type: ignore[arg-type]


def test_a_free_plan_is_granted_at_once_without_stripe() -> None:
    decision = decided(FREE)
    assert (decision.kind, decision.flow, decision.starts) == ("new", "grant", "now")


def test_a_paid_plan_without_a_card_goes_to_checkout() -> None:
    assert decided(PRO).flow == "checkout"


def test_a_paid_plan_with_a_card_on_file_is_charged_directly() -> None:
    assert decided(PRO, card=True).flow == "charge"


def test_redirect_mode_always_goes_to_checkout_even_with_a_card() -> None:
    assert decided(PRO, card=True, redirect_mode="always").flow == "checkout"


def test_redirect_mode_never_without_a_card_asks_for_one_and_does_nothing() -> None:
    assert decided(PRO, redirect_mode="never").flow == "card_required"


def test_attaching_the_plan_already_held_is_refused() -> None:
    with pytest.raises(PlanAlreadyAttached) as refused:
        decided(PRO, PRO)
    assert refused.value.code == "plan_already_attached"


def test_a_one_off_plan_can_be_bought_again() -> None:
    decision = decided(TOP_UP, TOP_UP, card=True)
    assert (decision.kind, decision.flow, decision.replaces) == ("one_off", "charge", None)


def test_an_archived_plan_is_not_sold() -> None:
    with pytest.raises(InvalidRequest):
        decided(PRO.model_copy(update={"archived": True}))


def test_leaving_a_free_plan_for_a_paid_one_is_an_immediate_upgrade() -> None:
    decision = decided(PRO, FREE)
    assert (decision.kind, decision.starts, decision.flow) == ("upgrade", "now", "checkout")
    assert decision.replaces is not None
    assert decision.replaces.plan_id == "free"


def test_a_dearer_plan_in_the_group_is_an_upgrade_paid_by_the_subscription_card() -> None:
    decision = decided(PREMIUM, PRO)
    assert (decision.kind, decision.starts, decision.flow) == ("upgrade", "now", "charge")


def test_a_cheaper_plan_in_the_group_is_a_downgrade_at_the_period_end() -> None:
    decision = decided(PRO, PREMIUM, card=True)
    assert (decision.kind, decision.starts, decision.flow) == (
        "downgrade",
        "period_end",
        "schedule",
    )


def test_going_back_to_free_from_a_paid_plan_waits_for_the_period_end() -> None:
    decision = decided(FREE, PRO)
    assert (decision.kind, decision.flow) == ("downgrade", "schedule")


def test_plan_schedule_overrides_when_a_change_applies() -> None:
    assert decided(PRO, PREMIUM, card=True, plan_schedule="immediate").starts == "now"
    assert decided(PREMIUM, PRO, plan_schedule="end_of_cycle").flow == "schedule"


def test_the_same_monthly_price_billed_yearly_is_an_upgrade() -> None:
    assert is_upgrade(PRO, PRO_YEARLY)
    assert not is_upgrade(PRO_YEARLY, PRO)  # 20 a month either way, shorter interval


def test_a_longer_interval_is_an_upgrade_even_when_cheaper_per_month() -> None:
    # Autumn's immediate-switch-billing-interval scenario: $20 a month to $200 a year.
    annual = plan("pro_annual", "200", interval="year")
    assert is_upgrade(PRO, annual)
    assert is_upgrade(annual, PRO)  # back to monthly: dearer per month
    assert not is_upgrade(plan("pro_annual", "300", interval="year"), PRO)


def test_plans_of_other_groups_and_add_ons_stack() -> None:
    other = plan("storage", "5", group="storage")
    assert decided(other, PRO).kind == "new"
    assert decided(ADD_ON, PRO, card=True).kind == "add_on"


def test_a_trial_without_card_needs_no_checkout() -> None:
    trial = FreeTrial(duration_length=14, duration_type="day")
    decision = decided(plan("trialed", "20", trial=trial))
    assert (decision.flow, decision.trial) == ("charge", trial)


def test_a_trial_that_requires_a_card_goes_to_checkout_without_one() -> None:
    trial = FreeTrial(duration_length=1, duration_type="month", card_required=True)
    assert decided(PRO, free_trial=trial).flow == "checkout"
    assert trial_end(trial, NOW) == 1_709_208_000_000  # 2024-02-29 12:00: month end clamps


def test_prepaid_quantity_counts_included_units_and_rounds_up_to_packages() -> None:
    # 2 included, packages of 5: 13 units wanted -> 11 bought -> 3 packages (15 units).
    assert prepaid_packages(TEAM, {"seats": Decimal(13)}) == {"seats": Decimal(3)}
    assert prepaid_packages(TEAM, {}) == {"seats": Decimal(0)}


@pytest.mark.parametrize(
    ("quantities", "problem"),
    [({"messages": Decimal(3)}, "no prepaid"), ({"seats": Decimal(-1)}, "0 or more")],
)
def test_a_quantity_for_no_prepaid_item_or_below_zero_is_refused(
    quantities: dict[str, Decimal], problem: str
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        prepaid_packages(TEAM, quantities)
    assert problem in refused.value.message


def test_a_purchase_grants_included_plus_prepaid_units_and_flags() -> None:
    ids = (f"id{n}" for n in itertools.count())
    team = plan(
        "team",
        "30",
        items=(
            SEATS,
            PlanItem(feature_id="sso"),
            PlanItem(feature_id="messages", included=Decimal(5), reset=Reset(interval="month")),
        ),
    )
    held = purchased_holdings(team, FEATURES, {"seats": Decimal(3)}, NOW, lambda p: next(ids))
    (sub,) = held.subscriptions
    assert (sub.plan_id, sub.current_period_start, sub.current_period_end) == (
        "team",
        NOW,
        1_709_208_000_000,
    )
    seats = next(g for g in held.grants if g.feature_id == "seats")
    assert (seats.included, seats.prepaid, seats.granted) == (2, 15, 17)
    assert [f.feature_id for f in held.flags] == ["sso"]


def test_leaving_a_plan_takes_its_grants_and_flags_only() -> None:
    sub = Subscription(id="s1", plan_id="pro", plan_version=1, started_at=NOW)
    mine = Grant(id="g1", feature_id="messages", plan_id="pro", included=Decimal(1), anchor_at=NOW)
    other = Grant(id="g2", feature_id="messages", plan_id=None, included=Decimal(1), anchor_at=NOW)
    flag = Flag(id="f1", feature_id="sso", plan_id="pro")
    held = Holdings(subscriptions=(sub,), grants=(mine, other), flags=(flag,))
    assert left_behind(held, sub) == Holdings(subscriptions=(sub,), grants=(mine,), flags=(flag,))


def test_a_scheduled_plan_is_shown_from_its_start_and_grants_nothing_yet() -> None:
    shown = scheduled(PRO, "sub_next", NOW)
    (sub,) = shown.subscriptions
    assert (sub.plan_id, sub.status, sub.started_at) == ("pro", "scheduled", NOW)
    assert (shown.grants, shown.flags) == ((), ())


def test_the_plan_held_set_to_end_attached_again_is_refused_and_named_for_uncancel() -> None:
    holdings, held_plans = holding(PRO)
    (pro,) = holdings.subscriptions
    canceling = Holdings(subscriptions=(pro._replace(canceled_at=NOW, expires_at=NOW + 1),))

    with pytest.raises(PlanAlreadyAttached, match="uncancel"):
        decide(PRO, canceling, held_plans, True, AttachOptions())


STACKABLE = ADD_ON.model_copy(
    update={"stripe": StripeMirror(product_id="prod_support", base_price_id="price_support")}
)


def held_add_on(plan: Plan = STACKABLE, **fields: object) -> Holdings:
    sub = Subscription(
        id="sub_support",
        plan_id=plan.id,
        plan_version=plan.version,
        add_on=True,
        started_at=NOW,
        stripe_subscription_id="sub_stripe",
    )
    return Holdings(subscriptions=(sub._replace(**fields),))  # type: ignore[arg-type]


def test_a_paid_add_on_held_is_stacked_charged_on_its_own_subscription() -> None:
    holdings = held_add_on()

    decision = decide(STACKABLE, holdings, {"sub_support": STACKABLE}, False, AttachOptions())

    assert (decision.kind, decision.flow, decision.replaces) == ("add_on", "charge", None)
    assert decision.stacks == holdings.subscriptions[0]


@pytest.mark.parametrize(
    ("wanted", "fields"),
    [
        (ADD_ON, {}),  # no Stripe price to count them by
        (STACKABLE, {"trial_ends_at": NOW + 1}),
        (STACKABLE, {"past_due": True}),
        (STACKABLE, {"plan_version": 2}),
        (STACKABLE.model_copy(update={"terms": PlanTerms(items=(SEATS,))}), {}),
    ],
)
def test_an_add_on_held_is_not_stacked_without_a_price_in_trial_owing_or_of_another_version(
    wanted: Plan, fields: dict[str, object]
) -> None:
    holdings = held_add_on(wanted, **fields)

    with pytest.raises(PlanAlreadyAttached):
        decide(wanted, holdings, {"sub_support": wanted}, True, AttachOptions())


def test_a_trial_asked_for_another_add_on_held_is_refused_naming_it() -> None:
    trial = FreeTrial(duration_length=7, duration_type="day")

    with pytest.raises(InvalidRequest) as refused:
        decide(STACKABLE, held_add_on(), {}, True, AttachOptions(free_trial=trial))

    assert (refused.value.details or [{}])[0]["field"] == "free_trial"


def _holding_seats(held: Plan, units: Decimal, feature_id: str = "seats") -> Holdings:
    """`held` with a grant of `units` seats bought on it (included ones counted)."""
    holdings, _ = holding(held)
    item = next(i for i in held.terms.items if i.feature_id == feature_id)
    grant = Grant(
        id="cus_ent_1",
        feature_id=feature_id,
        plan_id=held.id,
        included=item.included,
        prepaid=units - item.included,
        anchor_at=NOW,
        price=item.price,
    )
    return holdings._replace(grants=(grant,))


def test_a_switch_without_quantities_keeps_the_prepaid_units_bought() -> None:
    # Autumn's immediate/scheduled-switch-prepaid no-options scenarios: 12 seats held on
    # Team (2 included, 2 packs of 5) are 12 on Big team (4 included, packs of 3: 3 packs).
    big = plan(
        "big_team",
        "60",
        items=(
            PlanItem(
                feature_id="seats",
                included=Decimal(4),
                price=ItemPrice(
                    amount=Decimal(6), billing_units=Decimal(3), billing_method="prepaid"
                ),
            ),
        ),
    )
    holdings = _holding_seats(TEAM, Decimal(12))
    held_plans = {"sub_team": TEAM, "sub_big_team": big}

    upgrade = decide(big, holdings, held_plans, True, AttachOptions())
    asked = decide(
        big, holdings, held_plans, True, AttachOptions(feature_quantities={"seats": Decimal(4)})
    )
    downgrade = decide(TEAM, _holding_seats(big, Decimal(10)), held_plans, True, AttachOptions())

    assert (upgrade.kind, upgrade.packages) == ("upgrade", {"seats": Decimal(3)})
    assert asked.packages == {"seats": Decimal(0)}, "a quantity asked for wins"
    assert (downgrade.kind, downgrade.packages) == ("downgrade", {"seats": Decimal(2)})


def test_an_allowance_raised_by_hand_is_not_carried_and_charged_on_a_switch() -> None:
    # 12 seats bought on Team (2 included + 10 prepaid); the operator raised the included
    # amount by hand to 102. Big team carries the 12 paid for, not the gift: 3 packs of 3.
    big = plan(
        "big_team",
        "60",
        items=(
            PlanItem(
                feature_id="seats",
                included=Decimal(4),
                price=ItemPrice(
                    amount=Decimal(6), billing_units=Decimal(3), billing_method="prepaid"
                ),
            ),
        ),
    )
    bought = _holding_seats(TEAM, Decimal(12))
    gift = bought._replace(grants=(bought.grants[0]._replace(included=Decimal(102)),))
    held_plans = {"sub_team": TEAM, "sub_big_team": big}

    upgrade = decide(big, gift, held_plans, True, AttachOptions())

    assert upgrade.packages == {"seats": Decimal(3)}


def test_nothing_is_carried_to_a_plan_that_does_not_sell_the_feature_up_front_or_a_new_one() -> (
    None
):
    holdings = _holding_seats(TEAM, Decimal(12))
    held_plans = {"sub_team": TEAM}
    other_group = plan("storage", "5", group="storage", items=(SEATS,))

    assert decide(PREMIUM, holdings, held_plans, True, AttachOptions()).packages == {}
    # A plan of another group replaces nothing: its own included amount, no carry-over.
    new = decide(other_group, holdings, held_plans, True, AttachOptions())
    assert (new.kind, new.packages) == ("new", {"seats": Decimal(0)})


def test_seats_in_use_are_kept_on_the_plan_switched_to_and_used_up_features_start_afresh() -> None:
    left = Holdings(
        grants=(
            Grant(
                id="g1",
                feature_id="seats",
                plan_id="team",
                included=Decimal(3),
                anchor_at=NOW,
                usage=Decimal(2),
            ),
            Grant(
                id="g2",
                feature_id="messages",
                plan_id="team",
                included=Decimal(100),
                anchor_at=NOW,
                usage=Decimal(40),
            ),
        )
    )
    added = Holdings(
        grants=(
            Grant(id="n1", feature_id="seats", plan_id="big", included=Decimal(5), anchor_at=NOW),
            Grant(
                id="n2", feature_id="messages", plan_id="big", included=Decimal(500), anchor_at=NOW
            ),
        )
    )

    kept = seats_kept(added, left, FEATURES)

    assert [(g.feature_id, g.usage) for g in kept.grants] == [
        ("seats", Decimal(2)),
        ("messages", Decimal(0)),
    ]
