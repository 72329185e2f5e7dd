"""Customers holding more than one DynamoDB transaction can carry (100 items): created,
renamed and deleted whole, over the local stack."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import httpx
import pytest

from local.stack import LocalStack
from tests.conftest import stripe_client, table_items
from tests.integration.test_attach_api import with_card_on_file

# As many items as a plan may have (api/wire/plans.py).
PLAN_ITEMS = 100
GRANTS = 300


def items_under(stack: LocalStack, *pks: str) -> list[dict[str, object]]:
    return [item for item in table_items(stack) if item["PK"]["S"] in pks]


def send_all(api: httpx.Client, path: str, bodies: list[dict[str, object]]) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda body: api.post(path, json=body), bodies))
    assert {a.status_code for a in answers} == {200}, [a.text for a in answers[:3]]


def test_a_plan_with_as_many_items_as_allowed_is_auto_enabled_renamed_and_deleted(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    features = [f"feature_{n:03d}" for n in range(PLAN_ITEMS)]
    send_all(
        api,
        "/v1/features.create",
        [{"feature_id": f, "name": f, "type": "metered"} for f in features],
    )
    plan = api.post(
        "/v1/plans.create",
        json={
            "plan_id": "free",
            "name": "Free",
            "auto_enable": True,
            "items": [{"feature_id": f, "included": 10} for f in features],
        },
    )
    assert plan.status_code == 200, plan.text

    created = api.post("/v1/customers.get_or_create", json={"customer_id": "big"})
    renamed = api.post(
        "/v1/customers.update", json={"customer_id": "big", "new_customer_id": "bigger"}
    )
    tracked = api.post(
        "/v1/balances.track",
        json={"customer_id": "bigger", "feature_id": "feature_042", "value": 3},
    )
    old = api.post("/v1/customers.get", json={"customer_id": "big"})
    deleted = api.post("/v1/customers.delete", json={"customer_id": "bigger"})
    another = api.post("/v1/customers.get_or_create", json={"customer_id": "next"})

    assert created.status_code == 200, created.text
    assert len(created.json()["balances"]) == PLAN_ITEMS
    assert renamed.status_code == 200, renamed.text
    assert len(renamed.json()["balances"]) == PLAN_ITEMS
    assert tracked.json()["balance"]["remaining"] == 7
    assert old.status_code == 404
    assert deleted.status_code == 200, deleted.text
    assert api.post("/v1/customers.get", json={"customer_id": "bigger"}).status_code == 404
    assert items_under(clean_stack, "CUS#big", "CUS#bigger") == []
    assert another.status_code == 200
    assert len(another.json()["balances"]) == PLAN_ITEMS


def test_a_customer_with_300_grants_is_renamed_and_deleted_whole(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    from billing import clock
    from billing.domain.holdings import Grant, Holdings
    from billing.store import customers, holdings

    api.post("/v1/features.create", json={"feature_id": "messages", "name": "M", "type": "metered"})
    api.post("/v1/customers.get_or_create", json={"customer_id": "hoarder"})
    hoarder = customers.load("hoarder")
    assert hoarder is not None
    # Given 300 hand-made grants (written in chunks by the store: 300 balances.create calls
    # would each read the growing partition, minutes of setup on a loaded machine)
    grants = tuple(
        Grant(
            id=clock.new_internal_id("cus_ent"),
            feature_id="messages",
            plan_id=None,
            included=Decimal(1),
            anchor_at=clock.now_ms(),
        )
        for _ in range(GRANTS)
    )
    holdings.put_ahead(customers.pk_of(hoarder), hoarder.internal_id, Holdings(grants=grants))
    api.post(
        "/v1/balances.track", json={"customer_id": "hoarder", "feature_id": "messages", "value": 5}
    )

    renamed = api.post(
        "/v1/customers.update", json={"customer_id": "hoarder", "new_customer_id": "keeper"}
    )
    after = api.post("/v1/customers.get", json={"customer_id": "keeper"}).json()
    left_behind = items_under(clean_stack, "CUS#hoarder")
    deleted = api.post("/v1/customers.delete", json={"customer_id": "keeper"})

    assert renamed.status_code == 200, renamed.text
    assert after["balances"]["messages"]["remaining"] == GRANTS - 5
    assert len(after["balances"]["messages"]["breakdown"]) == GRANTS
    assert left_behind == []
    assert deleted.status_code == 200, deleted.text
    assert api.post("/v1/customers.get", json={"customer_id": "keeper"}).status_code == 404
    assert items_under(clean_stack, "CUS#hoarder", "CUS#keeper") == []


def test_a_rename_that_cannot_finish_leaves_the_customer_as_it_was_and_the_id_free(
    api: httpx.Client, clean_stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from billing.domain.errors import BillingInProgress
    from billing.store import customers, moves

    api.post("/v1/features.create", json={"feature_id": "messages", "name": "M", "type": "metered"})
    api.post("/v1/customers.get_or_create", json={"customer_id": "stays"})
    api.post(
        "/v1/balances.create",
        json={"customer_id": "stays", "feature_id": "messages", "included_grant": 10},
    )
    before = customers.load("stays")
    assert before is not None
    # A lease shorter than the margin the switch needs: as a mover that ran too long.
    monkeypatch.setattr(moves, "MOVE_LEASE_MS", moves.MOVE_MARGIN_MS - 1)

    with pytest.raises(BillingInProgress):
        customers.move(before, before._replace(id="taken"))
    tracked = api.post(
        "/v1/balances.track", json={"customer_id": "stays", "feature_id": "messages", "value": 1}
    )
    newcomer = api.post("/v1/customers.get_or_create", json={"customer_id": "taken"})

    assert tracked.status_code == 200, "the fence is lifted"
    assert tracked.json()["balance"]["remaining"] == 9
    assert newcomer.status_code == 200, "the placeholder is gone"
    assert newcomer.json()["balances"] == {}, "copies of the abandoned move are not its"


def big_paid_plan(
    api: httpx.Client, plan_id: str, amount: int, included: int, features: bool = False
) -> None:
    """A paid plan of as many metered items as a plan may have (`features`: create them)."""
    if features:
        send_all(
            api,
            "/v1/features.create",
            [
                {"feature_id": f"feature_{n:03d}", "name": f"f{n}", "type": "metered"}
                for n in range(PLAN_ITEMS)
            ],
        )
    plan = api.post(
        "/v1/plans.create",
        json={
            "plan_id": plan_id,
            "name": plan_id,
            "group": "main",
            "price": {"amount": amount, "interval": "month"},
            "items": [
                {"feature_id": f"feature_{n:03d}", "included": included} for n in range(PLAN_ITEMS)
            ],
        },
    )
    assert plan.status_code == 200, plan.text


def included_seen(customer_id: str) -> set[object]:
    """What a reader sees of the plan's grants: one included amount, or several mid-change."""
    from billing.store import customers

    found = customers.load(customer_id)
    assert found is not None
    return {grant.included for grant in found.holdings.grants}


def test_paid_plans_of_as_many_items_as_allowed_are_granted_and_upgraded_with_no_half_step_seen(
    api: httpx.Client, clean_stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from billing.store import writes

    big_paid_plan(api, "big", amount=20, included=10, features=True)
    big_paid_plan(api, "bigger", amount=50, included=50)
    with_card_on_file(api, clean_stack, "pm_card_visa")
    seen_between_chunks: list[set[object]] = []
    chunked = writes.run_in_chunks

    def watched(batch: list[writes.Write], between: Any = None) -> None:
        seen_between_chunks.append(included_seen("c1"))
        chunked(batch, between)
        seen_between_chunks.append(included_seen("c1"))

    monkeypatch.setattr(writes, "run_in_chunks", watched)

    bought = api.post("/v1/billing.attach", json={"customer_id": "c1", "plan_id": "big"})
    seen_before_upgrade = list(seen_between_chunks)
    seen_between_chunks.clear()
    upgraded = api.post("/v1/billing.attach", json={"customer_id": "c1", "plan_id": "bigger"})

    assert bought.status_code == 200, bought.text
    assert set(map(frozenset, seen_before_upgrade)) <= {frozenset(), frozenset({10})}
    assert upgraded.status_code == 200, upgraded.text
    assert seen_between_chunks, "the upgrade was written in stages"
    assert set(map(frozenset, seen_between_chunks)) <= {frozenset({10}), frozenset({50})}
    after = api.post("/v1/customers.get", json={"customer_id": "c1"}).json()
    assert [s["plan_id"] for s in after["subscriptions"]] == ["bigger"]
    assert len(after["balances"]) == PLAN_ITEMS
    assert {b["granted"] for b in after["balances"].values()} == {50}
    tracked = api.post(
        "/v1/balances.track", json={"customer_id": "c1", "feature_id": "feature_007", "value": 3}
    )
    assert tracked.json()["balance"]["remaining"] == 47
    leftovers = [
        item
        for item in items_under(clean_stack, "CUS#c1")
        if "added_by" in item or "removed_by" in item or str(item["SK"]["S"]).startswith("REVEALED")
    ]
    assert leftovers == [], "tags and markers are tidied once the change shows"


def test_a_large_grant_cut_short_before_it_shows_leaves_the_customer_as_it_was_and_is_redone(
    api: httpx.Client, clean_stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from billing.store import holding_items, writes

    big_paid_plan(api, "big", amount=20, included=10, features=True)
    stripe_customer = with_card_on_file(api, clean_stack, "pm_card_visa")
    run = writes.run

    def crash_at_the_reveal(batch: list[writes.Write]) -> Any:
        if any(w.params.get("Item", {}).get(holding_items.ADDED_BY) for w in batch) or any(
            str(w.params.get("Item", {}).get("SK", {}).get("S", "")).startswith("REVEALED")
            for w in batch
        ):
            raise ConnectionError("the function died here")
        return run(batch)

    monkeypatch.setattr(writes, "run", crash_at_the_reveal)
    with clean_stack.stripe_webhooks_paused():  # only the attach's own grant is cut short
        cut_short = api.post("/v1/billing.attach", json={"customer_id": "c1", "plan_id": "big"})
    seen_after_crash = included_seen("c1")
    monkeypatch.setattr(writes, "run", run)
    retried = api.post("/v1/billing.attach", json={"customer_id": "c1", "plan_id": "big"})

    assert cut_short.status_code >= 500
    assert seen_after_crash == set(), "nothing of the plan shows before the reveal"
    assert retried.status_code == 200, retried.text
    after = api.post("/v1/customers.get", json={"customer_id": "c1"}).json()
    assert [s["plan_id"] for s in after["subscriptions"]] == ["big"]
    assert {b["granted"] for b in after["balances"].values()} == {10}
    assert len(after["balances"]) == PLAN_ITEMS
    partition = items_under(clean_stack, "CUS#c1")
    crashed = {i["added_by"]["S"] for i in partition if "added_by" in i}  # type: ignore[index]
    markers = {i["SK"]["S"] for i in partition if str(i["SK"]["S"]).startswith("REVEALED#")}
    assert crashed, "what the crashed attempts staged is left behind..."
    assert not markers, "...never revealed, so never shown"
    invoices = stripe_client(clean_stack).v1.invoices.list({"customer": stripe_customer}).data
    assert [i.status for i in invoices] == ["paid"], "charged once"


@pytest.mark.billing_drift_expected(
    ["I2"], "grants the purchase directly, as a paid attach and its webhook would: nothing is paid"
)
def test_racing_grants_of_one_large_purchase_show_it_once_and_leave_nothing_staged(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    from billing.services.billing.purchases import grant_purchase

    big_paid_plan(api, "big", amount=20, included=10, features=True)
    api.post("/v1/customers.get_or_create", json={"customer_id": "c1"})
    checkout = api.post(
        "/v1/billing.attach",
        json={"customer_id": "c1", "plan_id": "big", "success_url": "https://app.example.com/"},
    )
    assert checkout.json()["payment_url"], checkout.text
    (purchase,) = [
        i for i in table_items(clean_stack) if i.get("entity", {}).get("S") == "purchase"
    ]
    purchase_id = json.loads(purchase["body"]["S"])["id"]

    # As when the attach that charged the card and Stripe's webhook both learn it was paid.
    with ThreadPoolExecutor(max_workers=3) as pool:
        granted = list(pool.map(lambda _: grant_purchase(purchase_id), range(3)))

    assert granted.count(True) == 1
    after = api.post("/v1/customers.get", json={"customer_id": "c1"}).json()
    assert [s["plan_id"] for s in after["subscriptions"]] == ["big"]
    assert len(after["balances"]) == PLAN_ITEMS
    staged = [i for i in items_under(clean_stack, "CUS#c1") if "added_by" in i]
    assert staged == [], "the winner tidied its tags and the losers withdrew what they staged"
