"""The billing invariants as pure rules (billing.domain.audit): each invariant is broken by
the smallest situation that breaks it, and a customer in line with Stripe breaks none."""

from __future__ import annotations

from decimal import Decimal

from billing.domain.audit import AuditReport, CustomerFacts, Drift, Switch
from billing.domain.audit_rules import drifts_of
from billing.domain.customers import Customer
from billing.domain.holdings import Grant, Holdings, Subscription
from billing.domain.plans import BasePrice, Plan, PlanItem, PlanTerms, StripeMirror
from billing.domain.stripe_subscriptions import StripeSubscription, SubscriptionItem, UpcomingPhase
from billing.domain.terms import ItemPrice

FREE = Plan(id="free", name="Free", group="main", auto_enable=True)
PRO = Plan(
    id="pro",
    name="Pro",
    group="main",
    terms=PlanTerms(
        price=BasePrice(amount=Decimal(20), interval="month"),
        items=(
            PlanItem(
                feature_id="seats",
                included=Decimal(1),
                price=ItemPrice(amount=Decimal(5), interval="month", billing_units=Decimal(1)),
            ),
        ),
    ),
    stripe=StripeMirror(
        product_id="prod_pro", base_price_id="price_pro", item_price_ids={"seats": "price_seat"}
    ),
)
TEAM = Plan(
    id="team",
    name="Team",
    group="main",
    terms=PlanTerms(price=BasePrice(amount=Decimal(50), interval="month")),
    stripe=StripeMirror(product_id="prod_team", base_price_id="price_team"),
)


def held(sub_id: str, plan: Plan, **fields: object) -> Subscription:
    return Subscription(
        id=sub_id, plan_id=plan.id, plan_version=plan.version, started_at=1, **fields
    )  # type: ignore[arg-type]


def seats(prepaid: int, usage: int = 0) -> Grant:
    return Grant(
        id="g_seats",
        feature_id="seats",
        plan_id="pro",
        included=Decimal(1),
        anchor_at=1,
        prepaid=Decimal(prepaid),
        usage=Decimal(usage),
        price=PRO.terms.items[0].price,
    )


def stripe_sub(
    sub_id: str, *prices: tuple[str, int], status: str = "active", **fields: object
) -> StripeSubscription:
    items = tuple(SubscriptionItem(price, quantity) for price, quantity in prices)
    return StripeSubscription(id=sub_id, customer="cus_1", status=status, items=items, **fields)  # type: ignore[arg-type]


def facts(
    subs: tuple[Subscription, ...],
    plans: dict[str, Plan],
    stripe: tuple[StripeSubscription, ...] = (),
    grants: tuple[Grant, ...] = (),
    switches: dict[str, Switch] | None = None,
) -> CustomerFacts:
    customer = Customer(
        internal_id="cus_int",
        id="c1",
        created_at=1,
        metadata={},
        stripe_id="cus_1",
        holdings=Holdings(subscriptions=subs, grants=grants),
    )
    return CustomerFacts(customer, {s.id: plans[s.id] for s in subs}, stripe, switches or {})


def found(drifts: list[Drift]) -> list[str]:
    return [d.invariant for d in drifts]


def pro_paid(quantity: int = 2, **stripe_fields: object) -> CustomerFacts:
    return facts(
        (held("s_pro", PRO),),
        {"s_pro": PRO},
        (stripe_sub("sub_1", ("price_pro", 1), ("price_seat", quantity), **stripe_fields),),
        grants=(seats(quantity),),
    )


def test_a_customer_holding_what_stripe_bills_breaks_no_invariant():
    assert drifts_of(pro_paid()) == []


def test_two_active_main_plans_of_one_group_break_i1():
    both = facts((held("s_free", FREE), held("s_team", TEAM)), {"s_free": FREE, "s_team": TEAM})

    drifts = drifts_of(both)

    assert "I1" in found(drifts)
    assert drifts[0].customer_id == "c1"


def test_a_paid_plan_stripe_bills_only_with_an_incomplete_subscription_breaks_i2():
    drifts = drifts_of(pro_paid(status="incomplete"))

    assert found(drifts) == ["I2"]
    assert "sub_1 (incomplete)" in drifts[0].found


def test_trialing_past_due_unpaid_and_paused_subscriptions_are_live():
    for status in ("trialing", "past_due", "unpaid", "paused"):
        assert drifts_of(pro_paid(status=status)) == [], status


def test_a_live_subscription_billing_nothing_held_breaks_i3_and_an_incomplete_one_does_not():
    extra = stripe_sub("sub_x", ("price_team", 1))
    unpaid = stripe_sub("sub_y", ("price_team", 1), status="incomplete")
    base = pro_paid()

    drifts = drifts_of(
        CustomerFacts(base.customer, base.held_plans, (*base.stripe_subscriptions, extra, unpaid))
    )

    assert found(drifts) == ["I3"]
    assert drifts[0].stripe_subscription_id == "sub_x"


def test_a_plan_billed_by_two_live_subscriptions_breaks_i4():
    base = pro_paid()
    twice = (*base.stripe_subscriptions, stripe_sub("sub_2", ("price_pro", 1)))

    drifts = drifts_of(CustomerFacts(base.customer, base.held_plans, twice))

    assert found(drifts) == ["I4"]


def test_a_second_subscription_selling_a_plans_price_bills_no_held_plan_once_ids_are_recorded():
    # Pro recorded sub_1 when granted; sub_2 (made in Stripe's dashboard) sells its price too.
    recorded = facts(
        (held("s_pro", PRO, stripe_subscription_id="sub_1"),),
        {"s_pro": PRO},
        (
            stripe_sub("sub_1", ("price_pro", 1), ("price_seat", 2)),
            stripe_sub("sub_2", ("price_pro", 1)),
        ),
        grants=(seats(2),),
    )

    drifts = drifts_of(recorded)

    assert found(drifts) == ["I3"]
    assert drifts[0].stripe_subscription_id == "sub_2"


def test_a_plan_whose_recorded_subscription_is_gone_breaks_i2_whoever_sells_its_price():
    moved = facts(
        (held("s_pro", PRO, stripe_subscription_id="sub_gone"),),
        {"s_pro": PRO},
        (stripe_sub("sub_2", ("price_pro", 1), ("price_seat", 2)),),
        grants=(seats(2),),
    )

    assert sorted(found(drifts_of(moved))) == ["I2", "I3"]


def test_grants_of_a_plan_not_held_or_held_twice_or_unlike_stripes_quantity_break_i5():
    orphan = facts((), {}, grants=(seats(0),))
    doubled = pro_paid()
    doubled = facts(
        (held("s_pro", PRO),),
        {"s_pro": PRO},
        doubled.stripe_subscriptions,
        grants=(seats(2), seats(2)._replace(id="g_again")),
    )
    unlike = pro_paid()
    unlike = facts(
        (held("s_pro", PRO),), {"s_pro": PRO}, unlike.stripe_subscriptions, grants=(seats(5),)
    )

    assert found(drifts_of(orphan)) == ["I5"]
    assert found(drifts_of(doubled)) == ["I5"]
    assert "holds 5, Stripe subscription sub_1 bills 2 package(s)" in drifts_of(unlike)[0].found


def test_seats_used_beyond_what_was_granted_still_add_up():
    # 3 seats granted, 7 in use: the 4 beyond are counted as bought, remaining stays 0.
    grant = seats(2, usage=7)
    ok = facts((held("s_pro", PRO),), {"s_pro": PRO}, pro_paid().stripe_subscriptions, (grant,))

    assert drifts_of(ok) == []


def test_a_scheduled_plan_stripe_does_not_bring_breaks_i6():
    subs = (held("s_pro", PRO), held("s_team", TEAM, status="scheduled"))
    plans = {"s_pro": PRO, "s_team": TEAM}
    stripe = pro_paid().stripe_subscriptions

    drifts = drifts_of(facts(subs, plans, stripe, grants=(seats(2),)))

    assert found(drifts) == ["I6"]
    assert "shown as scheduled" in drifts[0].found


def test_a_scheduled_plan_with_its_schedule_phase_and_pending_switch_breaks_nothing():
    # The plan held shows it ends when the plan scheduled starts.
    subs = (
        held("s_pro", PRO, canceled_at=5, expires_at=100_000),
        held("s_team", TEAM, status="scheduled"),
    )
    plans = {"s_pro": PRO, "s_team": TEAM}
    phase = UpcomingPhase(start=100, price_ids=frozenset({"price_team"}), purchase_id="pur_t")
    stripe = (stripe_sub("sub_1", ("price_pro", 1), ("price_seat", 2), upcoming_phases=(phase,)),)
    switch = {"sub_1": Switch("pur_t", "team", pending=True)}

    assert drifts_of(facts(subs, plans, stripe, (seats(2),), switch)) == []
    granted = {"sub_1": Switch("pur_t", "team", pending=False)}
    assert found(drifts_of(facts(subs, plans, stripe, (seats(2),), granted))) == ["I6"]


def test_a_downgrade_to_free_is_brought_by_the_cancellation_at_the_period_end():
    subs = (
        held("s_pro", PRO, canceled_at=5, expires_at=10),
        held("s_free", FREE, status="scheduled"),
    )
    plans = {"s_pro": PRO, "s_free": FREE}
    ending = (stripe_sub("sub_1", ("price_pro", 1), ("price_seat", 2), cancel_at_period_end=True),)
    switch = {"sub_1": Switch("pur_f", "free", pending=True)}

    assert drifts_of(facts(subs, plans, ending, (seats(2),), switch)) == []


def test_stripe_ending_or_switching_a_subscription_nobody_shows_breaks_i6():
    ending = pro_paid(cancel_at_period_end=True)
    phase = UpcomingPhase(start=100, price_ids=frozenset({"price_team"}))
    switching = pro_paid(upcoming_phases=(phase,))
    shown_ending = facts(
        (held("s_pro", PRO, canceled_at=5),),
        {"s_pro": PRO},
        pro_paid().stripe_subscriptions,
        (seats(2),),
    )

    assert found(drifts_of(ending)) == ["I6"]
    # Nothing shown scheduled for the switch, and the plan held shows no end.
    assert found(drifts_of(switching)) == ["I6", "I6"]
    assert found(drifts_of(shown_ending)) == ["I6"]


def test_a_plan_a_downgrade_replaces_at_the_period_end_shows_it_ends_then():
    phase = UpcomingPhase(start=100, price_ids=frozenset({"price_team"}), purchase_id="pur_t")
    plans = {"s_pro": PRO, "s_team": TEAM}
    switch = {"sub_1": Switch("pur_t", "team", pending=True)}
    stripe = (stripe_sub("sub_1", ("price_pro", 1), ("price_seat", 2), upcoming_phases=(phase,)),)
    scheduled = held("s_team", TEAM, status="scheduled")

    not_ending = facts((held("s_pro", PRO), scheduled), plans, stripe, (seats(2),), switch)

    assert found(drifts_of(not_ending)) == ["I6"]


def test_a_report_adds_pages_up_and_keeps_a_bounded_list_of_drifts():
    drift = Drift(customer_id="c1", internal_id="i", invariant="I3", found="x")
    report = AuditReport(started_at=1).with_page(3, [drift] * 5, "cursor")

    assert report.customers_audited == 3
    assert report.drift_count == 5
    assert not report.complete
    assert report.next_cursor == "cursor"
    assert report.drifted_customers() == ["c1"]
    assert len(report.kept(limit=2).drifts) == 2
    assert report.kept(limit=2).drift_count == 5


SUPPORT = Plan(
    id="support",
    name="Support",
    add_on=True,
    terms=PlanTerms(price=BasePrice(amount=Decimal(10), interval="month")),
    stripe=StripeMirror(product_id="prod_support", base_price_id="price_support"),
)


def test_an_add_on_is_held_as_many_times_as_stripe_bills_it_and_a_main_plan_once_else_i5():
    def support(held_times: int, billed: int) -> CustomerFacts:
        sub = held("s_sup", SUPPORT, add_on=True, quantity=Decimal(held_times))
        return facts((sub,), {"s_sup": SUPPORT}, (stripe_sub("sub_2", ("price_support", billed)),))

    team_twice = facts(
        (held("s_team", TEAM, quantity=Decimal(2)),),
        {"s_team": TEAM},
        (stripe_sub("sub_3", ("price_team", 2)),),
    )

    assert drifts_of(support(2, 2)) == []
    (drift,) = drifts_of(support(1, 2))
    assert drift.invariant == "I5"
    assert "held 1 times, Stripe subscription sub_2 bills it 2 times" in drift.found
    assert found(drifts_of(team_twice)) == ["I5"], "only an add-on is held stacked"
