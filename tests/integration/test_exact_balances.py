"""Balances are exact decimals over HTTP: what a caller sends as 0.1 is 0.1 in DynamoDB, in
every condition and in every answer (issue 8, A1), and remaining goes below 0 only for
overage (B3). Through the local stack: the handlers, moto server's DynamoDB conditions."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest


@pytest.fixture
def customer(api: httpx.Client) -> httpx.Client:
    for feature in (
        {"feature_id": "credits", "name": "Credits", "type": "metered"},
        {"feature_id": "seats", "name": "Seats", "type": "metered", "consumable": False},
    ):
        assert api.post("/v1/features.create", json=feature).status_code == 200
    assert api.post("/v1/customers.get_or_create", json={"customer_id": "u"}).status_code == 200
    return api


def give(api: httpx.Client, included: Any, feature_id: str = "credits", **extra: Any) -> None:
    body = {"customer_id": "u", "feature_id": feature_id, "included_grant": included, **extra}
    assert api.post("/v1/balances.create", json=body).status_code == 200


def track(api: httpx.Client, value: Any, feature_id: str = "credits") -> httpx.Response:
    return api.post(
        "/v1/balances.track", json={"customer_id": "u", "feature_id": feature_id, "value": value}
    )


def exact(response: httpx.Response) -> Any:
    """The answer with its numbers as the decimals written in it."""
    return json.loads(response.text, parse_float=Decimal)


def balance(api: httpx.Client, feature_id: str = "credits") -> dict[str, Any]:
    got = api.post("/v1/customers.get", json={"customer_id": "u"})
    return exact(got)["balances"][feature_id]  # type: ignore[no-any-return]


def test_tracking_0_2_then_0_1_uses_exactly_0_3_and_admin_writes_still_work(
    customer: httpx.Client,
) -> None:
    give(customer, 1)
    track(customer, 0.2)
    tracked = exact(track(customer, 0.1))

    assert tracked["balance"]["usage"] == Decimal("0.3")
    assert tracked["balance"]["remaining"] == Decimal("0.7")
    # Their conditions compare the usage read with the one stored: equal, so no 423.
    updated = customer.post(
        "/v1/balances.update",
        json={"customer_id": "u", "feature_id": "credits", "add_to_balance": 0.05},
    )
    assert updated.status_code == 200, updated.text
    assert balance(customer)["remaining"] == Decimal("0.75")
    given_back = track(customer, -0.25)  # all of it: the usage is now 0.25
    assert given_back.status_code == 200
    assert exact(given_back)["balance"]["usage"] == 0
    assert exact(given_back)["balance"]["remaining"] == 1
    renamed = customer.post(
        "/v1/customers.update", json={"customer_id": "u", "new_customer_id": "u2"}
    )
    assert renamed.status_code == 200, renamed.text
    deleted = customer.post("/v1/customers.delete", json={"customer_id": "u2"})
    assert deleted.status_code == 200, deleted.text


def test_0_7_then_0_3_under_cap_never_goes_past_the_grant(customer: httpx.Client) -> None:
    give(customer, 1)

    first, second, third = (exact(track(customer, v)) for v in (0.7, 0.3, 0.1))

    assert first["balance"]["remaining"] == Decimal("0.3")
    assert second["balance"]["usage"] == 1
    assert second["balance"]["remaining"] == 0
    assert third["deductions"] == []
    assert balance(customer)["usage"] == 1


def test_ten_tracks_of_0_1_leave_exactly_nothing(customer: httpx.Client) -> None:
    give(customer, 1)

    for _ in range(10):
        assert track(customer, 0.1).status_code == 200

    left = balance(customer)
    assert (left["remaining"], left["usage"]) == (0, 1)
    assert track(customer, 0.1).json()["deductions"] == []


def test_answers_show_the_shortest_exact_decimal_as_a_json_number(
    customer: httpx.Client,
) -> None:
    give(customer, 200)
    track(customer, 45.67)

    answer = customer.post("/v1/customers.get", json={"customer_id": "u"}).text

    assert '"remaining":154.33' in answer.replace(" ", "")
    assert "154.32999" not in answer
    assert '"granted":200,' in answer.replace(" ", "")


def test_a_value_past_what_dynamodb_stores_is_a_400_naming_the_field(
    customer: httpx.Client,
) -> None:
    give(customer, 10)
    for value, field in (
        ("1e-131", "value"),
        ("1.000000000000000000000000000000000000001", "value"),
        ("1e13", "value"),
        ("1e200", "value"),
    ):
        answer = customer.post(
            "/v1/balances.track",
            content=f'{{"customer_id": "u", "feature_id": "credits", "value": {value}}}',
            headers={"content-type": "application/json"},
        )
        assert answer.status_code == 400, value
        assert answer.json()["code"] == "invalid_inputs"
        assert [d["field"] for d in answer.json()["details"]] == [field]
    for body in ('{"plan_id": "p", "name": "P", "price": {"amount": 1e126, "interval": "month"}}',):
        created = customer.post(
            "/v1/plans.create", content=body, headers={"content-type": "application/json"}
        )
        assert created.status_code == 400
    assert balance(customer)["usage"] == 0


def test_an_unlimited_balance_tracked_stays_unlimited_with_nothing_remaining(
    customer: httpx.Client,
) -> None:
    give(customer, 0, unlimited=True)

    tracked = exact(track(customer, 1))

    assert tracked["balance"]["unlimited"] is True
    assert tracked["balance"]["remaining"] == 0
    assert balance(customer)["remaining"] == 0


def test_seats_past_their_grant_are_all_recorded_and_the_excess_counts_as_purchased(
    customer: httpx.Client,
) -> None:
    give(customer, 5, feature_id="seats")

    tracked = exact(track(customer, 8, feature_id="seats"))

    seats = tracked["balance"]
    assert (seats["usage"], seats["remaining"], seats["granted"]) == (8, 0, 8)
    assert seats["breakdown"][0]["included_grant"] == 5
    assert seats["breakdown"][0]["prepaid_grant"] == 3
    checked = customer.post(
        "/v1/balances.check", json={"customer_id": "u", "feature_id": "seats"}
    ).json()
    assert checked["allowed"] is False
    released = exact(track(customer, -4, feature_id="seats"))["balance"]
    assert (released["usage"], released["remaining"], released["granted"]) == (4, 1, 5)


def test_usage_set_above_the_grant_counts_as_purchased_not_negative(
    customer: httpx.Client,
) -> None:
    give(customer, 10)

    updated = customer.post(
        "/v1/balances.update", json={"customer_id": "u", "feature_id": "credits", "usage": 40}
    )

    assert updated.status_code == 200
    shown = balance(customer)
    assert (shown["usage"], shown["remaining"], shown["granted"]) == (40, 0, 40)


@pytest.fixture
def with_credits(customer: httpx.Client) -> httpx.Client:
    """messages has its own grant of 2; credits (0.5 a message) cover it when that runs out."""
    for feature in (
        {"feature_id": "messages", "name": "Messages", "type": "metered", "event_names": ["ask"]},
        {"feature_id": "searches", "name": "Searches", "type": "metered", "event_names": ["ask"]},
        {
            "feature_id": "pool",
            "name": "Pool",
            "type": "credit_system",
            "credit_schema": [{"metered_feature_id": "messages", "credit_cost": 0.5}],
        },
    ):
        assert customer.post("/v1/features.create", json=feature).status_code == 200, feature
    give(customer, 2, feature_id="messages")
    give(customer, 10, feature_id="searches")
    give(customer, 1.5, feature_id="pool")
    return customer


def test_when_the_own_grant_runs_out_the_rest_draws_from_the_credit_system(
    with_credits: httpx.Client,
) -> None:
    tracked = exact(track(with_credits, 4, feature_id="messages"))

    # 2 from the own grant, the other 2 messages at 0.5 credits each from the pool; the own
    # grant, first to pay, speaks for the use (as in Autumn).
    assert tracked["balance"]["feature_id"] == "messages"
    assert set(tracked["balances"]) == {"messages", "pool"}
    assert tracked["balances"]["messages"]["remaining"] == 0
    assert tracked["balances"]["pool"]["remaining"] == Decimal("0.5")
    assert sorted((d["feature_id"], d["value"]) for d in tracked["deductions"]) == [
        ("messages", 2),
        ("pool", 1),
    ]


def test_check_with_send_event_takes_all_from_grant_and_credits_or_nothing(
    with_credits: httpx.Client,
) -> None:
    def check(required: int) -> Any:
        body = {
            "customer_id": "u",
            "feature_id": "messages",
            "required_balance": required,
            "send_event": True,
        }
        return exact(with_credits.post("/v1/balances.check", json=body))

    # 2 own + 1.5 credits / 0.5 = 5 messages at most.
    denied = check(6)
    assert denied["allowed"] is False
    assert balance(with_credits, "messages")["usage"] == 0
    assert balance(with_credits, "pool")["usage"] == 0
    allowed = check(5)
    assert allowed["allowed"] is True
    assert allowed["balance"]["feature_id"] == "messages"
    assert set(allowed["balances"]) == {"messages", "pool"}
    assert balance(with_credits, "pool")["remaining"] == 0
    assert check(1)["allowed"] is False


def test_an_event_name_answers_the_balance_of_every_feature_it_used(
    with_credits: httpx.Client,
) -> None:
    tracked = with_credits.post(
        "/v1/balances.track", json={"customer_id": "u", "event_name": "ask", "value": 1}
    ).json()

    assert tracked["balance"] is None
    # Each feature the event uses, and the credit system pricing messages.
    assert {"messages", "searches", "pool"} <= set(tracked["balances"])
    assert tracked["balances"]["messages"]["remaining"] == 1
    assert tracked["balances"]["searches"]["remaining"] == 9


def test_a_track_of_one_feature_answers_its_balance_alone(
    customer: httpx.Client,
) -> None:
    give(customer, 3)

    tracked = track(customer, 1).json()

    assert tracked["balance"]["remaining"] == 2
    assert "balances" not in tracked, "one feature, no credit system pricing it (as Autumn)"
