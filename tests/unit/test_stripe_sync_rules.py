"""How our copy of a subscription follows Stripe's (billing.domain.stripe_sync, pure):
which held plan a Stripe subscription bills, its cancellation, status and trial, prepaid
units, and the default plan a customer falls back to."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from billing.domain.holdings import Grant, Holdings, Subscription
from billing.domain.plans import BasePrice, Plan, PlanItem, PlanTerms, StripeMirror
from billing.domain.stacks import stacks_synced
from billing.domain.stripe_subscriptions import StripeSubscription, SubscriptionItem
from billing.domain.stripe_sync import (
    billed_by,
    default_plan,
    held_for,
    prepaid_synced,
    sells,
    synced,
)
from billing.domain.terms import ItemPrice
from billing.stripe_api.subscriptions import subscription_from

START, END = 1_790_000_000, 1_792_592_000

SEATS = PlanItem(
    feature_id="seats",
    included=Decimal(2),
    price=ItemPrice(amount=Decimal(8), billing_units=Decimal(5), billing_method="prepaid"),
)
TEAM = Plan(
    id="team",
    name="Team",
    terms=PlanTerms(price=BasePrice(amount=Decimal(30), interval="month"), items=(SEATS,)),
    stripe=StripeMirror(
        product_id="prod_team", base_price_id="price_team", item_price_ids={"seats": "price_seat"}
    ),
)
FREE = Plan(id="free", name="Free", auto_enable=True)
HELD = Subscription(id="sub_1", plan_id="team", plan_version=1, started_at=START * 1000)


def stripe_sub(status: str = "active", quantity: int = 1, **fields: object) -> StripeSubscription:
    return StripeSubscription(
        id="sub_stripe",
        customer="cus_1",
        status=status,
        items=(
            SubscriptionItem("price_team", 1, "si_1"),
            SubscriptionItem("price_seat", quantity, "si_2"),
        ),
        current_period_start=START,
        current_period_end=END,
        **fields,  # type: ignore[arg-type]
    )


def test_a_stripe_subscription_bills_the_held_plan_that_recorded_its_id_never_by_price() -> None:
    recorded = HELD._replace(stripe_subscription_id="sub_stripe")
    held = Holdings(subscriptions=(recorded,))

    assert held_for(held, {"sub_1": TEAM}, stripe_sub()) == recorded
    # Another Stripe subscription selling the same prices (made in Stripe's dashboard).
    same_prices = stripe_sub()
    assert held_for(held, {"sub_1": TEAM}, replace(same_prices, id="sub_dashboard")) is None
    assert billed_by(held, "sub_stripe") == [recorded]
    assert sells(TEAM, stripe_sub())
    assert not sells(FREE, stripe_sub()), "a free plan has no prices: Stripe never bills it"


def test_a_plan_granted_before_ids_were_recorded_is_matched_by_price_only_by_our_own() -> None:
    held = Holdings(subscriptions=(HELD,))
    ours = stripe_sub(purchase_id="pur_1")

    assert held_for(held, {"sub_1": TEAM}, ours) == HELD
    assert held_for(held, {"sub_1": TEAM}, stripe_sub()) is None, "made in the dashboard"
    other = StripeSubscription(
        "sub_x", "cus_1", "active", (SubscriptionItem("price_other", 1),), purchase_id="pur_2"
    )
    assert held_for(held, {"sub_1": TEAM}, other) is None
    # Once synced, the plan records the subscription and its items.
    after = synced(HELD, TEAM, ours)
    assert (after.stripe_subscription_id, after.stripe_item_ids) == ("sub_stripe", ("si_1", "si_2"))


def test_cancel_at_the_period_end_shows_when_it_ends_and_uncancel_clears_it() -> None:
    canceling = stripe_sub(cancel_at_period_end=True, cancel_at=END, canceled_at=START + 60)

    after = synced(HELD, TEAM, canceling)

    assert (after.canceled_at, after.expires_at) == ((START + 60) * 1000, END * 1000)
    assert (after.current_period_start, after.current_period_end) == (START * 1000, END * 1000)
    back = synced(after, TEAM, stripe_sub())
    assert (back.canceled_at, back.expires_at) == (None, None)


def test_an_owed_payment_is_past_due_and_a_paid_one_clears_it() -> None:
    assert synced(HELD, TEAM, stripe_sub("past_due")).past_due
    assert synced(HELD, TEAM, stripe_sub("unpaid")).past_due
    assert not synced(HELD._replace(past_due=True), TEAM, stripe_sub("active")).past_due


def test_a_trial_end_is_taken_from_stripe_while_trialing() -> None:
    trialing = synced(HELD, TEAM, stripe_sub("trialing", trial_end=END))

    assert trialing.trial_ends_at == END * 1000
    converted = synced(trialing, TEAM, stripe_sub("active", trial_end=END))
    assert converted.trial_ends_at is None, "no longer trialing (Stripe keeps the past end)"


def test_prepaid_units_follow_the_packages_stripe_bills() -> None:
    grant = Grant(
        id="g1",
        feature_id="seats",
        plan_id="team",
        included=Decimal(2),
        anchor_at=0,
        prepaid=Decimal(5),
        usage=Decimal(3),
    )

    ((before, after),) = prepaid_synced([grant], TEAM, stripe_sub(quantity=3))

    assert before == grant
    assert (after.prepaid, after.usage) == (Decimal(15), Decimal(3))
    assert prepaid_synced([grant], TEAM, stripe_sub(quantity=1)) == []


def test_the_default_plan_is_the_groups_free_auto_enabled_plan() -> None:
    grouped = Plan(id="team_free", name="Team free", group="team", auto_enable=True)
    archived = Plan(id="old_free", name="Old", auto_enable=True, archived=True)

    assert default_plan([archived, grouped, FREE], TEAM) == FREE
    assert default_plan([FREE], FREE) is None, "the default itself has none to fall back to"
    add_on = TEAM.model_copy(update={"add_on": True})
    assert default_plan([FREE], add_on) is None, "an add-on ending leaves the main plan"


def test_stripes_object_is_read_with_periods_on_its_items() -> None:
    read = subscription_from(
        {
            "id": "sub_1",
            "customer": {"id": "cus_1"},
            "status": "trialing",
            "cancel_at_period_end": True,
            "cancel_at": END,
            "canceled_at": START,
            "trial_end": END,
            "items": {
                "data": [
                    {
                        "price": {"id": "price_team"},
                        "quantity": 1,
                        "current_period_start": START,
                        "current_period_end": END,
                    }
                ]
            },
        }
    )

    assert read.customer == "cus_1"
    assert read.canceling
    assert (read.current_period_start, read.current_period_end) == (START, END)
    assert read.price_ids == frozenset({"price_team"})
    assert not read.ended
    assert subscription_from({"id": "s", "customer": "c", "status": "canceled"}).ended


def test_a_subscription_ended_with_its_period_is_told_from_one_cut_short_or_ended_in_trial():
    """Only a period that ran its course bills its overage in arrears (see period_end)."""
    running = StripeSubscription(
        id="sub_x", customer="cus_x", status="active", items=(), current_period_end=END
    )
    at_the_end = replace(running, status="canceled", ended_at=END)
    assert at_the_end.ended_with_its_period
    assert replace(at_the_end, ended_at=END - 30).ended_with_its_period, "a clock a bit ahead"
    assert not replace(at_the_end, ended_at=END - 86400).ended_with_its_period, "canceled now"
    assert not replace(at_the_end, trial_end=END).ended_with_its_period, "a trial's end"
    assert not running.ended_with_its_period
    assert not replace(running, ended_at=END).ended_with_its_period
    assert not replace(at_the_end, ended_at=None).ended_with_its_period
    fields = {
        "id": "sub_x",
        "customer": "cus_x",
        "status": "canceled",
        "ended_at": END,
        "items": {"data": [{"price": "price_team", "quantity": 1, "current_period_end": END}]},
    }
    assert subscription_from(fields).ended_with_its_period


SUPPORT = Plan(
    id="support",
    name="Support",
    add_on=True,
    terms=PlanTerms(
        price=BasePrice(amount=Decimal(10), interval="month"),
        items=(PlanItem(feature_id="messages", included=Decimal(50)),),
    ),
    stripe=StripeMirror(product_id="prod_support", base_price_id="price_support"),
)


def test_an_add_on_billed_twice_is_held_twice_with_one_more_allowance_and_a_hand_change_kept():
    held = Subscription(id="sub_s", plan_id="support", plan_version=1, started_at=1, add_on=True)
    twice = StripeSubscription(
        id="sub_2", customer="cus_1", status="active", items=(SubscriptionItem("price_support", 2),)
    )
    # 50 from the plan, 5 more given by hand.
    grant = Grant(
        id="g", feature_id="messages", plan_id="support", included=Decimal(55), anchor_at=1
    )

    after = synced(held, SUPPORT, twice)
    ((before, regranted),) = stacks_synced([grant], SUPPORT, held, after)

    assert after.quantity == 2
    assert (before, regranted.included) == (grant, Decimal(105))
    assert synced(held, TEAM, twice).quantity == 1, "only an add-on is held stacked"
    assert stacks_synced([grant], SUPPORT, after, after) == []
