"""Whatever a caller sends, the answer is a 4xx JSON error and nothing is written."""

from __future__ import annotations

import time

import httpx
import pytest

from local.stack import LocalStack
from tests.conftest import SECRET_KEY, table_items

ROUTES = [
    "/v1/customers.get_or_create",
    "/v1/customers.get",
    "/v1/customers.list",
    "/v1/customers.update",
    "/v1/customers.delete",
]

UNPARSEABLE = [
    b"{not json",
    b"[1, 2, 3]",
    b'"a string"',
    b'{"customer_id": NaN}',
    b'{"customer_id": "x", "limit": Infinity}',
    b'{"customer_id": 1e999}',
    b"\xff\xfe not utf-8",
]
BAD_CUSTOMER_IDS = [
    b'{"customer_id": 42}',
    b'{"customer_id": ["a"]}',
    b'{"customer_id": {"$ne": null}}',
    b'{"customer_id": "   "}',
    b'{"customer_id": "line\\nbreak"}',
    b'{"customer_id": "nul\\u0000byte"}',
    b'{"customer_id": "' + b"x" * 300 + b'"}',
]
# Each body is wrong for every route (customers.list takes no customer_id at all).
CASES = [(route, body) for route in ROUTES for body in UNPARSEABLE]
CASES += [(route, body) for route in ROUTES for body in BAD_CUSTOMER_IDS]
CASES += [
    ("/v1/customers.get_or_create", b'{"customer_id": "x", "email": "not-an-email"}'),
    ("/v1/customers.update", b'{"customer_id": "x", "email": "a@b"}'),
    ("/v1/customers.get_or_create", b'{"customer_id": "x", "metadata": "not-an-object"}'),
    ("/v1/customers.update", b'{"customer_id": "x", "metadata": [1]}'),
    ("/v1/customers.get_or_create", b'{"customer_id": "x", "create_in_stripe": "yes"}'),
    ("/v1/customers.get_or_create", b'{"customer_id": "x", "stripe_id": "acct_123"}'),
    ("/v1/customers.delete", b'{"customer_id": "x", "delete_in_stripe": 1}'),
    ("/v1/customers.list", b'{"limit": -5}'),
    ("/v1/customers.list", b'{"limit": 2.5}'),
    ("/v1/customers.list", b'{"sort_order": "sideways"}'),
    ("/v1/customers.list", b'{"created_at_range": {"start": -1}}'),
    ("/v1/customers.get_or_create", b'{"name": "no id at all"}'),
]


@pytest.fixture
def seeded(api: httpx.Client, clean_stack: LocalStack) -> list[dict[str, object]]:
    api.post("/v1/customers.get_or_create", json={"customer_id": "x", "name": "Seed"})
    return table_items(clean_stack)


@pytest.mark.parametrize(
    ("route", "body"),
    CASES,
    ids=lambda v: v.decode(errors="replace")[:30] if isinstance(v, bytes) else v,
)
def test_a_malformed_or_mistyped_body_is_a_400_that_writes_nothing(
    api: httpx.Client,
    clean_stack: LocalStack,
    seeded: list[dict[str, object]],
    route: str,
    body: bytes,
) -> None:
    response = api.post(route, content=body, headers={"Content-Type": "application/json"})

    assert response.status_code == 400, response.text
    error = response.json()
    assert error["code"] == "invalid_inputs"
    assert error["message"]
    assert error["details"]
    assert "Traceback" not in response.text
    assert table_items(clean_stack) == seeded


def test_a_body_over_the_limit_is_a_413(api: httpx.Client, clean_stack: LocalStack) -> None:
    huge = {"customer_id": "big", "metadata": {"blob": "x" * 300_000}}

    response = api.post("/v1/customers.get_or_create", json=huge)

    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert table_items(clean_stack) == []


def test_a_body_over_api_gateways_limit_never_reaches_a_function(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    response = api.post("/v1/customers.get_or_create", content=b"x" * (11 * 1024 * 1024))

    assert response.status_code == 413
    assert table_items(clean_stack) == []


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Basic " + SECRET_KEY,
        "Bearer wrong",
        SECRET_KEY,
        "Bearer " + SECRET_KEY + "x",
    ],
)
def test_without_a_valid_secret_key_the_answer_is_401(
    clean_stack: LocalStack, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}

    response = httpx.post(
        f"{clean_stack.api_url}/v1/customers.get_or_create",
        json={"customer_id": "intruder"},
        headers=headers,
    )

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_secret_key"
    assert table_items(clean_stack) == []


@pytest.mark.parametrize(
    "customer_id",
    ["用户_42", "🙂🚀", "مستخدم", "a/b?c#d&e", "CUS#PROFILE", "' OR 1=1 --", "x" * 256],
)
def test_unusual_but_valid_ids_round_trip_unchanged(api: httpx.Client, customer_id: str) -> None:
    created = api.post(
        "/v1/customers.get_or_create", json={"customer_id": customer_id, "name": "Zoë"}
    )
    fetched = api.post("/v1/customers.get", json={"customer_id": customer_id})

    assert created.status_code == 200
    assert fetched.json()["id"] == customer_id
    assert fetched.json()["name"] == "Zoë"


def test_an_unknown_route_is_a_404_json(api: httpx.Client) -> None:
    response = api.post("/v1/customers.explode", json={})

    assert response.status_code == 404


def test_fields_this_api_does_not_take_are_refused_by_name_not_dropped(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    response = api.post(
        "/v1/customers.get_or_create",
        json={"customer_id": "user_1", "a_field_from_the_future": {"x": 1}, "currency": "eur"},
    )

    assert response.status_code == 400
    error = response.json()
    assert error["code"] == "invalid_inputs"
    assert {d["field"] for d in error["details"]} == {"a_field_from_the_future", "currency"}
    assert table_items(clean_stack) == []


def test_a_malformed_idempotency_key_is_a_400(api: httpx.Client, clean_stack: LocalStack) -> None:
    response = api.post(
        "/v1/customers.get_or_create",
        json={"customer_id": "user_1"},
        headers={"Idempotency-Key": "k" * 300},
    )

    assert response.status_code == 400
    assert table_items(clean_stack) == []


def test_deeply_nested_json_is_a_400_not_a_crash(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    nested = b"[" * 50_000 + b"]" * 50_000

    plain = api.post("/v1/customers.get_or_create", content=nested)
    keyed = api.post(
        "/v1/customers.get_or_create", content=nested, headers={"Idempotency-Key": "deep"}
    )

    assert plain.status_code == 400
    assert keyed.status_code == 400
    assert [i for i in table_items(clean_stack) if i["SK"]["S"] == "PROFILE"] == []


def test_metadata_numbers_beyond_dynamodbs_range_are_stored_exactly(api: httpx.Client) -> None:
    metadata = {"huge": 1e200, "tiny": 1e-200, "long": 10**40, "deep": {"a": [{"b": [[[1]]]}]}}

    created = api.post(
        "/v1/customers.get_or_create", json={"customer_id": "u", "metadata": metadata}
    )
    fetched = api.post("/v1/customers.get", json={"customer_id": "u"})

    assert created.status_code == 200
    assert fetched.json()["metadata"] == metadata


def test_an_inverted_created_at_range_is_a_400(api: httpx.Client) -> None:
    response = api.post(
        "/v1/customers.list", json={"created_at_range": {"start": 2000, "end": 1000}}
    )

    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "created_at_range"


def nested(depth: int) -> dict[str, object]:
    """A JSON object `depth` levels deep (a flat object is 1)."""
    value: dict[str, object] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


@pytest.fixture
def metered(api: httpx.Client, clean_stack: LocalStack) -> list[dict[str, object]]:
    """A customer holding 100 messages; returns the table as it then stands."""
    api.post(
        "/v1/features.create",
        json={"feature_id": "messages", "name": "Messages", "type": "metered"},
    )
    api.post("/v1/customers.get_or_create", json={"customer_id": "x"})
    api.post(
        "/v1/balances.create",
        json={"customer_id": "x", "feature_id": "messages", "included_grant": 100},
    )
    return table_items(clean_stack)


OVERSIZE = {"blob": "x" * (16 * 1024)}


@pytest.mark.parametrize(
    ("route", "body", "field"),
    [
        ("/v1/customers.get_or_create", {"customer_id": "y", "metadata": nested(300)}, "body"),
        ("/v1/customers.get_or_create", {"customer_id": "y", "metadata": nested(33)}, "metadata"),
        ("/v1/customers.get_or_create", {"customer_id": "y", "metadata": OVERSIZE}, "metadata"),
        ("/v1/customers.update", {"customer_id": "x", "metadata": nested(300)}, "body"),
        ("/v1/customers.update", {"customer_id": "x", "metadata": OVERSIZE}, "metadata"),
        (
            "/v1/balances.track",
            {"customer_id": "x", "feature_id": "messages", "properties": nested(300)},
            "body",
        ),
        (
            "/v1/balances.track",
            {"customer_id": "x", "feature_id": "messages", "properties": OVERSIZE, "async": True},
            "properties",
        ),
        (
            "/v1/balances.check",
            {
                "customer_id": "x",
                "feature_id": "messages",
                "send_event": True,
                "properties": nested(300),
            },
            "body",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_caller_json_too_deep_or_too_large_is_a_400_that_writes_nothing(
    api: httpx.Client,
    clean_stack: LocalStack,
    metered: list[dict[str, object]],
    route: str,
    body: dict[str, object],
    field: str,
) -> None:
    response = api.post(route, json=body)

    # 300 levels is deeper than any body may be; 33 passes that bound but not the field's.
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_inputs"
    assert response.json()["details"][0]["field"].startswith(field)
    clean_stack.drain_queues()
    assert table_items(clean_stack) == metered


def test_caller_json_32_levels_deep_is_kept_and_read_back_everywhere(
    api: httpx.Client, metered: list[dict[str, object]]
) -> None:
    deep = nested(32)

    created = api.post("/v1/customers.get_or_create", json={"customer_id": "y", "metadata": deep})
    tracked = api.post(
        "/v1/balances.track",
        json={"customer_id": "x", "feature_id": "messages", "properties": deep},
    )

    assert created.status_code == 200
    assert tracked.status_code == 200
    assert api.post("/v1/customers.get", json={"customer_id": "y"}).json()["metadata"] == deep
    listed = api.post("/v1/customers.list", json={}).json()["list"]
    assert {c["id"]: c["metadata"] for c in listed}["y"] == deep
    (event,) = api.post("/v1/events.list", json={"customer_id": "x"}).json()["list"]
    assert event["properties"] == deep


DAY_MS = 86_400_000


@pytest.mark.parametrize("queued", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize(
    "timestamp",
    [253_402_300_800_000, 10**15, 946_684_799_999, 0, "two days ahead"],
    ids=["year 10000", "1e15", "just before 2000", "1970", "two days ahead"],
)
def test_a_use_from_before_2000_or_over_a_day_ahead_is_a_400_and_nothing_is_queued(
    api: httpx.Client,
    clean_stack: LocalStack,
    metered: list[dict[str, object]],
    queued: bool,
    timestamp: int | str,
) -> None:
    moment = int(time.time() * 1000) + 2 * DAY_MS if timestamp == "two days ahead" else timestamp
    body = {"customer_id": "x", "feature_id": "messages", "timestamp": moment, "async": queued}

    response = api.post("/v1/balances.track", json=body)

    assert response.status_code == 400, response.text
    assert response.json()["details"][0]["field"] == "timestamp"
    clean_stack.drain_queues()
    assert table_items(clean_stack) == metered


def test_a_use_from_an_hour_ahead_is_accepted(
    api: httpx.Client, metered: list[dict[str, object]]
) -> None:
    body = {
        "customer_id": "x",
        "feature_id": "messages",
        "timestamp": int(time.time() * 1000) + 3_600_000,
    }

    assert api.post("/v1/balances.track", json=body).status_code == 200
