"""New customers start on the auto-enable plans; plans customers hold keep their terms."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from local.stack import LocalStack
from tests.conftest import SECRET_KEY

MONTH_MS = 28 * 24 * 3600 * 1000

FREE = {
    "plan_id": "free",
    "name": "Free",
    "auto_enable": True,
    "items": [
        {"feature_id": "messages", "included": 100, "reset": {"interval": "month"}},
        {"feature_id": "sso"},
    ],
}


@pytest.fixture
def catalog(api: httpx.Client) -> httpx.Client:
    for body in (
        {"feature_id": "messages", "name": "Messages", "type": "metered"},
        {"feature_id": "sso", "name": "SSO", "type": "boolean"},
    ):
        assert api.post("/v1/features.create", json=body).status_code == 200
    assert api.post("/v1/plans.create", json=FREE).status_code == 200
    return api


def get_or_create(api: httpx.Client, **body: object) -> dict[str, object]:
    response = api.post("/v1/customers.get_or_create", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_new_customer_starts_with_the_auto_enable_plan(catalog: httpx.Client) -> None:
    customer = get_or_create(catalog, customer_id="user_1")

    [subscription] = customer["subscriptions"]
    balance = customer["balances"]["messages"]
    assert subscription["plan_id"] == "free"
    assert subscription["auto_enable"] is True
    assert subscription["status"] == "active"
    assert balance["granted"] == balance["remaining"] == 100
    assert balance["usage"] == 0
    assert balance["next_reset_at"] >= customer["created_at"] + MONTH_MS
    assert balance["breakdown"][0]["reset"]["interval"] == "month"
    assert customer["flags"]["sso"]["plan_id"] == "free"


def test_an_existing_customer_is_given_nothing_again(catalog: httpx.Client) -> None:
    get_or_create(catalog, customer_id="user_1")

    again = get_or_create(catalog, customer_id="user_1")

    assert len(again["subscriptions"]) == 1


def test_a_claimed_customer_keeps_what_it_had_and_gets_no_default(catalog: httpx.Client) -> None:
    catalog.post("/v1/plans.update", json={"plan_id": "free", "archived": True})
    get_or_create(catalog, customer_id=None, email="cfo@bigco.com")
    catalog.post("/v1/plans.update", json={"plan_id": "free", "archived": False})

    claimed = get_or_create(catalog, customer_id="org_1", email="cfo@bigco.com")

    assert claimed["subscriptions"] == []
    assert claimed["balances"] == {}


def test_a_precreated_customer_brings_its_plans_to_the_claim(catalog: httpx.Client) -> None:
    precreated = get_or_create(catalog, customer_id=None, email="cfo@bigco.com")

    claimed = get_or_create(catalog, customer_id="org_1", email="cfo@bigco.com")

    assert claimed["subscriptions"] == precreated["subscriptions"]
    assert claimed["balances"] == precreated["balances"]


def test_auto_enable_plan_id_picks_the_starting_plan(catalog: httpx.Client) -> None:
    catalog.post(
        "/v1/plans.create",
        json={
            "plan_id": "hobby",
            "name": "Hobby",
            "items": [{"feature_id": "messages", "included": 5}],
        },
    )

    customer = get_or_create(catalog, customer_id="user_1", auto_enable_plan_id="hobby")

    assert [s["plan_id"] for s in customer["subscriptions"]] == ["hobby"]
    assert customer["balances"]["messages"]["granted"] == 5


def test_auto_enable_plan_id_must_name_a_free_plan(catalog: httpx.Client) -> None:
    catalog.post(
        "/v1/plans.create",
        json={"plan_id": "pro", "name": "Pro", "price": {"amount": 9, "interval": "month"}},
    )

    unknown = catalog.post(
        "/v1/customers.get_or_create", json={"customer_id": "u", "auto_enable_plan_id": "ghost"}
    )
    paid = catalog.post(
        "/v1/customers.get_or_create", json={"customer_id": "u", "auto_enable_plan_id": "pro"}
    )

    assert unknown.status_code == 404
    assert unknown.json()["code"] == "product_not_found"
    assert paid.status_code == 400
    assert catalog.post("/v1/customers.get", json={"customer_id": "u"}).status_code == 404


def test_new_terms_on_a_held_plan_make_a_new_version(catalog: httpx.Client) -> None:
    get_or_create(catalog, customer_id="early")
    new_items = [{"feature_id": "messages", "included": 200}, {"feature_id": "sso"}]

    updated = catalog.post("/v1/plans.update", json={"plan_id": "free", "items": new_items}).json()
    early = catalog.post("/v1/customers.get", json={"customer_id": "early"}).json()
    late = get_or_create(catalog, customer_id="late")
    version_one = catalog.post("/v1/plans.get", json={"plan_id": "free", "version": 1}).json()

    assert updated["version"] == 2
    assert version_one["items"][0]["included"] == 100
    assert early["balances"]["messages"]["granted"] == 100, "customers keep what they have"
    assert late["balances"]["messages"]["granted"] == 200


def test_a_name_change_on_a_held_plan_stays_in_place(catalog: httpx.Client) -> None:
    get_or_create(catalog, customer_id="early")

    renamed = catalog.post("/v1/plans.update", json={"plan_id": "free", "name": "Starter"}).json()

    assert renamed["version"] == 1
    assert renamed["name"] == "Starter"


def test_terms_change_in_place_while_nobody_holds_the_plan(catalog: httpx.Client) -> None:
    updated = catalog.post(
        "/v1/plans.update",
        json={"plan_id": "free", "items": [{"feature_id": "messages", "included": 7}]},
    ).json()

    assert updated["version"] == 1
    assert updated["items"][0]["included"] == 7


def test_a_held_plan_is_archived_not_deleted(catalog: httpx.Client) -> None:
    get_or_create(catalog, customer_id="early")

    catalog.post("/v1/plans.delete", json={"plan_id": "free"})
    later = get_or_create(catalog, customer_id="later")

    assert catalog.post("/v1/plans.get", json={"plan_id": "free"}).json()["archived"] is True
    assert catalog.post("/v1/plans.list", json={}).json()["list"] == []
    assert later["subscriptions"] == [], "an archived plan is given to nobody new"


def test_many_new_customers_at_once_all_start_on_the_free_plan(
    catalog: httpx.Client, clean_stack: LocalStack
) -> None:
    def create(n: int) -> httpx.Response:
        with httpx.Client(
            base_url=clean_stack.api_url,
            headers={"Authorization": f"Bearer {SECRET_KEY}"},
            timeout=60,
        ) as client:
            return client.post("/v1/customers.get_or_create", json={"customer_id": f"burst_{n}"})

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(create, range(12)))

    assert [a.status_code for a in answers] == [200] * 12
    assert all(a.json()["balances"]["messages"]["granted"] == 100 for a in answers)
    changed = catalog.post(
        "/v1/plans.update", json={"plan_id": "free", "items": [{"feature_id": "sso"}]}
    )
    assert changed.json()["version"] == 2, "the burst marked version 1 as held"
