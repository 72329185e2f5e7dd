"""Purchases are keyed by what is bought and numbered by attempt (domain/purchases): pure
rules, no I/O."""

from __future__ import annotations

from decimal import Decimal

from billing.domain.plans import BasePrice, FreeTrial, Plan, PlanTerms
from billing.domain.purchases import (
    PendingPurchase,
    attempt_of_id,
    is_purchase_id,
    key_of_id,
    purchase_id,
    purchase_key,
)

PRO = Plan(
    id="pro",
    name="Pro",
    group="main",
    terms=PlanTerms(price=BasePrice(amount=Decimal(20), interval="month")),
)


def asked(**changes: object) -> PendingPurchase:
    base = PendingPurchase(
        id=purchase_id(purchase_key("i1", PRO), 1),
        customer_id="c1",
        internal_id="i1",
        plan_id="pro",
        plan_version=1,
        created_at=1,
        flow="checkout",
        line_items=(("price_1", 1),),
        success_url="https://a.example/1",
        metadata={"tab": "1"},
    )
    return base.model_copy(update=changes)


def test_the_key_names_what_is_bought_not_the_request() -> None:
    assert purchase_key("i1", PRO) == purchase_key("i1", PRO)
    assert purchase_key("i1", PRO) != purchase_key("i2", PRO), "another customer"
    assert purchase_key("i1", PRO) != purchase_key("i1", PRO.model_copy(update={"version": 2}))
    assert purchase_key("i1", PRO) != purchase_key("i1", PRO, "setup_1"), "named on a setup"


def test_an_id_carries_its_key_and_attempt_and_nothing_else_is_one() -> None:
    key = purchase_key("i1", PRO)
    made = purchase_id(key, 12)

    assert (key_of_id(made), attempt_of_id(made), is_purchase_id(made)) == (key, 12, True)
    assert not is_purchase_id(f"pur_{'a' * 32}")  # the old digest ids
    assert not is_purchase_id("pur_x_1")


def test_another_success_url_or_metadata_reuses_the_open_attempt() -> None:
    open_one = asked()

    assert open_one.reusable_for(asked(success_url="https://b.example", metadata={"tab": "2"}))


def test_other_terms_a_decline_or_a_closed_attempt_make_a_new_attempt() -> None:
    open_one = asked()

    assert not open_one.reusable_for(asked(line_items=(("price_1", 2),)))
    assert not open_one.reusable_for(asked(trial=FreeTrial(duration_length=7)))
    assert not open_one.reusable_for(asked(card="pm_2"))
    assert not asked(declined=True).reusable_for(asked())
    assert not asked(status="abandoned").reusable_for(asked())
    assert not asked(status="granted").reusable_for(asked())
