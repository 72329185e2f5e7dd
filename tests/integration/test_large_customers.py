"""Customers holding more than one DynamoDB transaction can carry (100 items): created,
renamed and deleted whole, over the local stack."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from local.stack import LocalStack
from tests.conftest import table_items

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
    api.post("/v1/features.create", json={"feature_id": "messages", "name": "M", "type": "metered"})
    api.post("/v1/customers.get_or_create", json={"customer_id": "hoarder"})
    send_all(
        api,
        "/v1/balances.create",
        [
            {"customer_id": "hoarder", "feature_id": "messages", "included_grant": 1}
            for _ in range(GRANTS)
        ],
    )
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
    from billing.store import customers, profiles

    api.post("/v1/features.create", json={"feature_id": "messages", "name": "M", "type": "metered"})
    api.post("/v1/customers.get_or_create", json={"customer_id": "stays"})
    api.post(
        "/v1/balances.create",
        json={"customer_id": "stays", "feature_id": "messages", "included_grant": 10},
    )
    before = customers.load("stays")
    assert before is not None
    # A lease shorter than the margin the switch needs: as a mover that ran too long.
    monkeypatch.setattr(profiles, "MOVE_LEASE_MS", profiles.MOVE_MARGIN_MS - 1)

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
