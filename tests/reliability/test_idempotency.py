"""One Idempotency-Key contract on every route: a key still running is 409 in progress
(never a 500), only final answers are kept, and track and check with send_event honour it
in the very transaction that deducts."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from local.stack import LocalStack
from tests.conftest import SECRET_KEY, remaining_messages, table_items, with_metered_balance

TRACK = {"customer_id": "u", "feature_id": "messages", "value": 3}
CHECK = {"customer_id": "u", "feature_id": "messages", "required_balance": 4, "send_event": True}


@pytest.fixture
def metered(api: httpx.Client) -> httpx.Client:
    return with_metered_balance(api, included=10)


remaining = remaining_messages


def post(stack: LocalStack, path: str, body: dict[str, object], key: str) -> httpx.Response:
    with httpx.Client(base_url=stack.api_url, timeout=60) as client:
        return client.post(
            path,
            json=body,
            headers={"Authorization": f"Bearer {SECRET_KEY}", "Idempotency-Key": key},
        )


def wait_until_held(stack: LocalStack, key: str) -> None:
    deadline = time.monotonic() + 10
    while not any(i["PK"]["S"] == f"IDEM#{key}" for i in table_items(stack)):
        assert time.monotonic() < deadline, "the first call never took its key"
        time.sleep(0.02)


@pytest.mark.parametrize(
    ("path", "body"), [("/v1/balances.track", TRACK), ("/v1/balances.check", CHECK)]
)
def test_a_key_still_running_on_another_route_is_409_in_progress_and_deducts_nothing(
    metered: httpx.Client, clean_stack: LocalStack, path: str, body: dict[str, object]
) -> None:
    assert clean_stack.emulator is not None
    # The first call holds the key while Stripe is slow to answer it.
    clean_stack.emulator.delay("POST", "/v1/customers", 1.0)
    slow = {"customer_id": "v", "create_in_stripe": True}
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(post, clean_stack, "/v1/customers.get_or_create", slow, "shared")
        wait_until_held(clean_stack, "shared")
        second = post(clean_stack, path, body, "shared")

        assert second.status_code == 409, second.text
        assert second.json()["code"] == "idempotency_key_in_progress"
        assert first.result().status_code == 200
    assert remaining(metered) == 10


def test_a_check_with_send_event_deducts_once_per_key_and_replays_even_when_run_out(
    metered: httpx.Client,
) -> None:
    headers = {"Idempotency-Key": "check-1"}

    first = metered.post("/v1/balances.check", json=CHECK, headers=headers)
    metered.post("/v1/balances.track", json=TRACK | {"value": 6})  # 0 left now
    again = metered.post("/v1/balances.check", json=CHECK, headers=headers)

    assert first.json()["allowed"] is True
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert remaining(metered) == 0
    listed = metered.post("/v1/events.list", json={"customer_id": "u"}).json()["list"]
    assert sorted(e["value"] for e in listed) == [4, 6]


def test_a_check_with_send_event_and_another_body_under_its_key_is_a_conflict(
    metered: httpx.Client,
) -> None:
    headers = {"Idempotency-Key": "check-2"}
    metered.post("/v1/balances.check", json=CHECK, headers=headers)

    other = metered.post(
        "/v1/balances.check", json=CHECK | {"required_balance": 1}, headers=headers
    )

    assert other.status_code == 409
    assert other.json()["code"] == "duplicate_idempotency_key"
    assert remaining(metered) == 6


def test_a_denied_check_keeps_nothing_under_its_key(metered: httpx.Client) -> None:
    headers = {"Idempotency-Key": "check-3"}
    denied = metered.post(
        "/v1/balances.check", json=CHECK | {"required_balance": 50}, headers=headers
    )
    metered.post(
        "/v1/balances.update",
        json={"customer_id": "u", "feature_id": "messages", "included_grant": 100},
    )

    retried = metered.post(
        "/v1/balances.check", json=CHECK | {"required_balance": 50}, headers=headers
    )

    assert denied.json()["allowed"] is False
    assert retried.json()["allowed"] is True
    assert "idempotent-replayed" not in retried.headers


@pytest.mark.parametrize("queued", [False, True], ids=["sync", "async"])
def test_the_body_idempotency_key_of_track_dedupes_like_the_header(
    metered: httpx.Client, clean_stack: LocalStack, queued: bool
) -> None:
    body = TRACK | {"idempotency_key": "body-1", "async": queued}

    first = metered.post("/v1/balances.track", json=body)
    again = metered.post("/v1/balances.track", json=body)
    with_header = metered.post(
        "/v1/balances.track", json=body, headers={"Idempotency-Key": "body-1"}
    )
    clean_stack.drain_queues()

    assert first.status_code == again.status_code == with_header.status_code
    assert again.json() == with_header.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert remaining(metered) == 7


@pytest.mark.parametrize("queued", [False, True], ids=["sync", "async"])
def test_the_header_and_body_keys_are_independent_claims(
    metered: httpx.Client, clean_stack: LocalStack, queued: bool
) -> None:
    """Autumn's track-body-idempotency scenario: a track with both keys claims both; a
    later request reusing either one alone is a retry of it (a replay of the same request
    here, a 409 for another request), never a second use."""
    first_body = TRACK | {"idempotency_key": "body-a", "async": queued}

    first = metered.post("/v1/balances.track", json=first_body, headers={"Idempotency-Key": "h"})
    same_header = metered.post(
        "/v1/balances.track",
        json=first_body | {"idempotency_key": "body-fresh"},
        headers={"Idempotency-Key": "h"},
    )
    same_body_key = metered.post(
        "/v1/balances.track", json=first_body, headers={"Idempotency-Key": "h-fresh"}
    )
    # A body key never answers for a header key of the same text, nor the other way round.
    header_text_as_body = metered.post(
        "/v1/balances.track", json=TRACK | {"idempotency_key": "h", "async": queued}
    )
    clean_stack.drain_queues()

    assert first.status_code == (202 if queued else 200)
    assert same_header.status_code == 409
    assert same_header.json()["code"] == "duplicate_idempotency_key"
    assert same_body_key.status_code == first.status_code
    assert same_body_key.headers["idempotent-replayed"] == "true"
    assert header_text_as_body.status_code == first.status_code
    assert "idempotent-replayed" not in header_text_as_body.headers
    assert remaining(metered) == 4, "two uses of 3: the first, and the body key 'h' alone"


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (500, "internal_error"),
        (502, "stripe_error"),
        (503, "service_unavailable"),
        (423, "billing_in_progress"),
        (429, "too_many_requests"),
        (409, "idempotency_key_in_progress"),
    ],
)
def test_an_answer_that_says_retry_frees_its_key(
    clean_stack: LocalStack, status: int, code: str
) -> None:
    from billing.services import idempotency

    assert idempotency.begin("retry-me", "fp") is None
    idempotency.finish("retry-me", "fp", status, '{"code": "x"}', code)

    assert idempotency.begin("retry-me", "fp") is None, "the retry runs for real"


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (200, None),
        (400, "invalid_inputs"),
        (404, "customer_not_found"),
        (409, "customer_already_exists"),
    ],
)
def test_a_final_answer_is_replayed_to_the_retry(
    clean_stack: LocalStack, status: int, code: str | None
) -> None:
    from billing.services import idempotency

    assert idempotency.begin("final", "fp") is None
    idempotency.finish("final", "fp", status, '{"n": 1}', code)

    assert idempotency.begin("final", "fp") == idempotency.Replay(status, '{"n": 1}')
