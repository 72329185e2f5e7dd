"""The sample catalog (local/catalog.yaml, which `make dev` pushes and the README shows) bills
as its comments and the README say: Free and Pro are one group (upgrading replaces Free), Pro
charges $20 at Checkout (no trial), usage past Pro's 1,000 messages is billed at $0.50 per 100
on the renewal, the top-up charges $10 once for 1,000 credits and the add-on $49 a month
beside Pro."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import httpx
import pytest

from local.catalog import push
from local.stack import LocalStack
from local.template import ROOT
from tests.conftest import SECRET_KEY

CATALOG = ROOT / "local" / "catalog.yaml"
PAGE_TIMEOUT_S = 120


@pytest.fixture
def sample(api: httpx.Client, clean_stack: LocalStack) -> httpx.Client:
    push(CATALOG, clean_stack.api_url, SECRET_KEY)
    return api


def held(api: httpx.Client) -> dict[str, Any]:
    answer = api.post("/v1/customers.get", json={"customer_id": "ada"})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def invoices(api: httpx.Client) -> list[tuple[list[str], Decimal]]:
    listed = api.post("/v1/invoices.list", json={"customer_id": "ada"}).json()["list"]
    paid = [i for i in listed if i["status"] == "paid"]
    return sorted((i["plan_ids"], Decimal(str(i["total"]))) for i in paid)


def test_the_readme_shows_the_sample_catalog_file_as_it_is() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", readme, flags=re.DOTALL)

    assert CATALOG.read_text() in blocks


def test_the_sample_catalog_bills_as_it_says(sample: httpx.Client) -> None:
    api = sample
    api.post("/v1/customers.get_or_create", json={"customer_id": "ada", "email": "a@example.com"})
    assert [s["plan_id"] for s in held(api)["subscriptions"]] == ["free"]
    assert held(api)["balances"]["messages"]["granted"] == 100

    # Pro through Checkout: $20 now, no trial; it replaces Free (one group).
    attached = api.post("/v1/billing.attach", json={"customer_id": "ada", "plan_id": "pro"})
    paid = httpx.post(
        attached.json()["payment_url"], data={"card_number": "4242424242424242"}, timeout=120
    )
    assert paid.status_code == 303
    customer = held(api)
    assert [(s["plan_id"], s["status"]) for s in customer["subscriptions"]] == [("pro", "active")]
    assert customer["subscriptions"][0]["trial_ends_at"] is None
    assert customer["balances"]["messages"]["granted"] == 1000
    assert customer["balances"]["seats"]["granted"] == 5
    assert invoices(api) == [(["pro"], Decimal(20))]

    # 150 messages past Pro's 1,000: two packages of 100 at $0.50 on the renewal.
    used = api.post(
        "/v1/balances.track",
        json={"customer_id": "ada", "feature_id": "messages", "value": 1150},
    )
    assert used.status_code == 200, used.text
    assert (used.json()["balance"]["usage"], used.json()["balance"]["remaining"]) == (1150, 0)

    # The top-up: $10 once, 1,000 credits. The add-on: $49 a month, beside Pro.
    for plan_id, total in (("credits_top_up", 10), ("priority_support", 49)):
        bought = api.post("/v1/billing.attach", json={"customer_id": "ada", "plan_id": plan_id})
        assert bought.status_code == 200, bought.text
        assert bought.json()["invoice"]["total"] == total
    customer = held(api)
    assert sorted(s["plan_id"] for s in customer["subscriptions"]) == ["priority_support", "pro"]
    assert [p["plan_id"] for p in customer["purchases"]] == ["credits_top_up"]
    assert customer["balances"]["credits"]["granted"] == 1000

    pro = next(s for s in customer["subscriptions"] if s["plan_id"] == "pro")
    renewal = api.post(
        "/v1/customers.advance_test_clock",
        json={"customer_id": "ada", "frozen_time": pro["current_period_end"] + 86_400_000},
    )
    assert renewal.status_code == 200, renewal.text
    assert invoices(api) == [
        (["credits_top_up"], Decimal(10)),
        (["priority_support"], Decimal(49)),
        (["priority_support"], Decimal(49)),
        (["pro"], Decimal(20)),
        (["pro"], Decimal(21)),
    ]
