"""The order guard over an in-process DynamoDB (moto): a Stripe object's state is written only
in its own order, whatever order Stripe delivers its events in, by position (invoices) or by
the mark a writer read before re-reading Stripe (the subscription sync)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from billing.domain.errors import BillingInProgress
from billing.store import stripe_timeline, writes
from billing.store.stripe_timeline import Mark
from billing.store.table import client, table_name
from billing.store.writes import Write
from tests.conftest import in_process_table


@pytest.fixture(autouse=True)
def moto_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with in_process_table(monkeypatch, "billing-timeline"):
        yield


def state_write(value: str) -> Write:
    return Write(
        "Put",
        {
            "TableName": table_name(),
            "Item": {"PK": {"S": "TEST#state"}, "SK": {"S": "S"}, "value": {"S": value}},
        },
    )


def state() -> str | None:
    found = client().get_item(
        TableName=table_name(), Key={"PK": {"S": "TEST#state"}, "SK": {"S": "S"}}
    )
    item = found.get("Item")
    return None if item is None else str(item["value"]["S"])


def test_a_late_older_state_never_overwrites_a_newer_one():
    assert stripe_timeline.apply_in_order("in_1", 200, [state_write("paid")], 0)
    assert not stripe_timeline.apply_in_order("in_1", 100, [state_write("open")], 0)

    assert state() == "paid"
    assert stripe_timeline.position("in_1") == 200


def test_the_same_position_applies_again_unless_strictly_once():
    assert stripe_timeline.apply_in_order("in_1", 100, [state_write("a")], 0)
    assert stripe_timeline.apply_in_order("in_1", 100, [state_write("b")], 0)
    assert state() == "b"

    assert stripe_timeline.apply_in_order("sub_1", 5, [state_write("closed")], 0, strictly=True)
    assert not stripe_timeline.apply_in_order("sub_1", 5, [state_write("again")], 0, strictly=True)
    assert state() == "closed"


def test_objects_have_their_own_timelines():
    assert stripe_timeline.apply_in_order("in_1", 300, [], 0)
    assert stripe_timeline.apply_in_order("in_2", 100, [state_write("other")], 0)

    assert (stripe_timeline.position("in_1"), stripe_timeline.position("in_2")) == (300, 100)
    assert stripe_timeline.position("in_3") is None


def test_of_two_writers_that_read_the_same_mark_only_the_first_writes():
    read = stripe_timeline.mark("sub_1")
    writes.run([stripe_timeline.mark_raised("sub_1", read, 100, 0), state_write("first")])

    with pytest.raises(BillingInProgress):
        writes.run([stripe_timeline.mark_raised("sub_1", read, 200, 0), state_write("second")])

    assert state() == "first"
    assert stripe_timeline.mark("sub_1") == Mark(revision=1, event_created=100)


def test_the_mark_keeps_the_newest_event_applied_and_counts_every_write():
    writes.run([stripe_timeline.mark_raised("sub_1", Mark(), 200, 0)])
    writes.run([stripe_timeline.mark_raised("sub_1", stripe_timeline.mark("sub_1"), 100, 0)])
    writes.run([stripe_timeline.mark_raised("sub_1", stripe_timeline.mark("sub_1"), None, 0)])

    assert stripe_timeline.mark("sub_1") == Mark(revision=3, event_created=200)
    assert stripe_timeline.mark("sub_2") == Mark()


def test_the_position_and_the_mark_of_one_object_never_undo_each_other():
    assert stripe_timeline.apply_in_order("sub_1", 500, [], 0)
    writes.run([stripe_timeline.mark_raised("sub_1", stripe_timeline.mark("sub_1"), 300, 0)])
    assert stripe_timeline.apply_in_order("sub_1", 600, [], 0)

    assert stripe_timeline.position("sub_1") == 600
    assert stripe_timeline.mark("sub_1") == Mark(revision=1, event_created=300)
    assert not stripe_timeline.apply_in_order("sub_1", 400, [], 0)
