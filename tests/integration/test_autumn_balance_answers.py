"""Autumn's track and check scenarios for the balances an answer shows (ported from
useautumn/autumn server/tests/integration/balances/track/basic/
track-credit-system-all-balances.test.ts and balances/check): `balances` names each feature
used and every credit system pricing it, null where the customer holds none, and is left out
when that is one feature; `balance` is the one balance speaking for the use."""

from __future__ import annotations

from typing import Any

import httpx
import pytest


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def catalog(api: httpx.Client) -> httpx.Client:
    """action1 priced by two credit systems (credits, held; credits3, not held), action3
    priced by credits2, messages priced by none; both actions answer the event `action`."""
    for body in (
        {"feature_id": "action1", "name": "A1", "type": "metered", "event_names": ["action"]},
        {"feature_id": "action3", "name": "A3", "type": "metered", "event_names": ["action"]},
        {"feature_id": "messages", "name": "Messages", "type": "metered"},
        {
            "feature_id": "credits",
            "name": "Credits",
            "type": "credit_system",
            "credit_schema": [{"metered_feature_id": "action1", "credit_cost": 1}],
        },
        {
            "feature_id": "credits2",
            "name": "Credits 2",
            "type": "credit_system",
            "credit_schema": [{"metered_feature_id": "action3", "credit_cost": 1}],
        },
        {
            "feature_id": "credits3",
            "name": "Credits 3",
            "type": "credit_system",
            "credit_schema": [{"metered_feature_id": "action1", "credit_cost": 2}],
        },
    ):
        ok(api.post("/v1/features.create", json=body))
    ok(api.post("/v1/customers.get_or_create", json={"customer_id": "u"}))
    for feature_id, included in (
        ("action1", 100),
        ("credits", 200),
        ("action3", 60),
        ("credits2", 100),
        ("messages", 100),
    ):
        ok(
            api.post(
                "/v1/balances.create",
                json={"customer_id": "u", "feature_id": feature_id, "included_grant": included},
            )
        )
    return api


def test_a_feature_priced_by_credit_systems_answers_all_their_balances(
    catalog: httpx.Client,
) -> None:
    answer = ok(
        catalog.post(
            "/v1/balances.track", json={"customer_id": "u", "feature_id": "action1", "value": 10}
        )
    )

    assert answer["balance"]["feature_id"] == "action1"
    assert answer["balance"]["remaining"] == 90
    assert sorted(answer["balances"]) == ["action1", "credits", "credits3"]
    assert answer["balances"]["credits"]["remaining"] == 200
    assert answer["balances"]["credits3"] is None, "a credit system the customer does not hold"


def test_an_event_name_answers_every_feature_it_uses_and_no_single_balance(
    catalog: httpx.Client,
) -> None:
    answer = ok(
        catalog.post(
            "/v1/balances.track", json={"customer_id": "u", "event_name": "action", "value": 5}
        )
    )

    assert answer["balance"] is None
    assert sorted(answer["balances"]) == ["action1", "action3", "credits", "credits2", "credits3"]
    assert answer["balances"]["action1"]["remaining"] == 95
    assert answer["balances"]["action3"]["remaining"] == 55
    assert answer["balances"]["credits3"] is None


def test_a_feature_no_credit_system_prices_answers_its_balance_alone(
    catalog: httpx.Client,
) -> None:
    answer = ok(
        catalog.post(
            "/v1/balances.track", json={"customer_id": "u", "feature_id": "messages", "value": 3}
        )
    )

    assert answer["balance"]["feature_id"] == "messages"
    assert "balances" not in answer


def test_a_credit_system_tracked_directly_answers_its_balance_alone(
    catalog: httpx.Client,
) -> None:
    answer = ok(
        catalog.post(
            "/v1/balances.track", json={"customer_id": "u", "feature_id": "credits", "value": 3}
        )
    )

    assert answer["balance"]["feature_id"] == "credits"
    assert answer["balance"]["remaining"] == 197
    assert "balances" not in answer


def test_credits_paying_past_the_grant_speak_for_the_use(catalog: httpx.Client) -> None:
    answer = ok(
        catalog.post(
            "/v1/balances.track",
            json={"customer_id": "u", "feature_id": "action1", "value": 150},
        )
    )

    # The feature's own grant paid first, so its balance answers; credits paid the rest.
    assert answer["balance"]["feature_id"] == "action1"
    assert answer["balances"]["action1"]["remaining"] == 0
    assert answer["balances"]["credits"]["remaining"] == 150


def test_a_check_that_sends_its_event_answers_the_balances_like_track(
    catalog: httpx.Client,
) -> None:
    answer = ok(
        catalog.post(
            "/v1/balances.check",
            json={
                "customer_id": "u",
                "feature_id": "action1",
                "required_balance": 120,
                "send_event": True,
            },
        )
    )

    assert answer["allowed"] is True
    assert answer["balance"]["feature_id"] == "action1"
    assert sorted(answer["balances"]) == ["action1", "credits", "credits3"]
    assert answer["balances"]["credits"]["remaining"] == 180
    assert answer["balances"]["credits3"] is None
