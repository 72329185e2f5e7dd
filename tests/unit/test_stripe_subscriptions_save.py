"""A Stripe subscription's holdings change too large for one transaction (a plan of many
grants expiring) over an in-process DynamoDB (moto): written in stages, it still rewrites the
subscriptions and grants it was given and raises the mark, all shown at once or not at all."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from billing import clock
from billing.domain.customers import Customer
from billing.domain.errors import BillingInProgress
from billing.domain.holdings import Grant, Holdings, Subscription
from billing.store import customers, stripe_subscriptions, stripe_timeline, writes
from billing.store.stripe_timeline import Mark
from billing.store.table import client, table_name
from billing.store.writes import Write
from tests.conftest import in_process_table

NOW = 1_760_000_000_000
# More grants than one transaction takes, so the change goes in stages.
MANY = writes.TRANSACTION_ITEMS + 20


@pytest.fixture(autouse=True)
def moto_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with in_process_table(monkeypatch, "billing-sync-save"):
        yield


PAID = Subscription(id="sub_pro", plan_id="pro", plan_version=1, started_at=NOW)
SEATS = Grant(
    id="ent_seats",
    feature_id="seats",
    plan_id="pro",
    included=Decimal(0),
    prepaid=Decimal(5),
    usage=Decimal(3),
    anchor_at=NOW,
)
EXPIRING = Subscription(id="sub_team", plan_id="team", plan_version=1, started_at=NOW)
TEAM_GRANTS = tuple(
    Grant(id=f"ent_{i}", feature_id=f"f{i}", plan_id="team", included=Decimal(10), anchor_at=NOW)
    for i in range(MANY)
)
FALLBACK = Subscription(id="sub_free", plan_id="free", plan_version=1, started_at=NOW)


@pytest.fixture
def customer() -> Customer:
    held = Holdings(subscriptions=(PAID, EXPIRING), grants=(SEATS, *TEAM_GRANTS))
    customers.create(Customer("int_big", "big", NOW, {}, holdings=held))
    loaded = customers.load("big")
    assert loaded is not None
    return loaded


def held() -> Holdings:
    loaded = customers.load("big")
    assert loaded is not None
    return loaded.holdings


def partition_size() -> int:
    found = client().query(
        TableName=table_name(),
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": "CUS#big"}},
        Select="COUNT",
    )
    return int(found["Count"])


def staged_save(customer: Customer, usage_as_read: Decimal, also: list[Write]) -> None:
    stripe_subscriptions.save(
        customer,
        changed=[PAID._replace(past_due=True)],
        regranted=[(SEATS._replace(usage=usage_as_read), SEATS._replace(prepaid=Decimal(8)))],
        removed=Holdings(subscriptions=(EXPIRING,), grants=TEAM_GRANTS),
        added=Holdings(subscriptions=(FALLBACK,)),
        staged_as="expire:sub_team",
        also=also,
        now_ms=clock.now_ms(),
    )


def test_a_staged_change_rewrites_subscriptions_and_grants_and_raises_the_mark(customer):
    raised = stripe_timeline.mark_raised("sub_stripe", Mark(), 100, NOW)

    staged_save(customer, usage_as_read=Decimal(3), also=[raised])

    after = held()
    assert {s.id: s.past_due for s in after.subscriptions} == {"sub_pro": True, "sub_free": False}
    assert [(g.id, g.prepaid, g.usage) for g in after.grants] == [
        ("ent_seats", Decimal(8), Decimal(3))
    ]
    assert stripe_timeline.mark("sub_stripe") == Mark(revision=1, event_created=100)


def test_a_staged_change_whose_regrant_no_longer_holds_shows_nothing(customer):
    before, size = held(), partition_size()
    raised = stripe_timeline.mark_raised("sub_stripe", Mark(), 100, NOW)

    # The grant's usage moved since it was read: the regrant (and all with it) must not land.
    with pytest.raises(BillingInProgress):
        staged_save(customer, usage_as_read=Decimal(2), also=[raised])

    assert held() == before
    assert partition_size() == size
    assert stripe_timeline.mark("sub_stripe") == Mark()


def test_a_staged_change_with_more_to_show_than_one_transaction_takes_is_refused_untouched(
    customer,
):
    before, size = held(), partition_size()
    too_many = [
        stripe_timeline.mark_raised(f"sub_{i}", Mark(), 100, NOW)
        for i in range(writes.TRANSACTION_ITEMS)
    ]

    with pytest.raises(ValueError, match="staged change's reveal"):
        staged_save(customer, usage_as_read=Decimal(3), also=too_many)

    assert held() == before
    assert partition_size() == size
    assert stripe_timeline.mark("sub_0") == Mark()


def test_a_holding_both_rewritten_and_removed_is_refused(customer):
    with pytest.raises(ValueError, match="both rewritten and removed"):
        stripe_subscriptions.save(
            customer,
            changed=[EXPIRING._replace(past_due=True)],
            removed=Holdings(subscriptions=(EXPIRING,), grants=TEAM_GRANTS),
            staged_as="expire:sub_team",
            now_ms=clock.now_ms(),
        )

    assert held().subscriptions == (PAID, EXPIRING)
