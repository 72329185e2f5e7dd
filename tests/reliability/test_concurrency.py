"""Races a billing system must win: many callers, one customer; one email, one claim."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from local.stack import LocalStack
from tests.conftest import SECRET_KEY, table_items

CALLERS = 20


def storm(
    stack: LocalStack, path: str, bodies: list[dict[str, object]], **headers: str
) -> list[httpx.Response]:
    """Sends every body at once, each from its own connection, and returns the answers."""

    def send(body: dict[str, object]) -> httpx.Response:
        with httpx.Client(base_url=stack.api_url, timeout=60) as client:
            return client.post(
                path, json=body, headers={"Authorization": f"Bearer {SECRET_KEY}", **headers}
            )

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(send, bodies))


def profiles(stack: LocalStack) -> list[dict[str, object]]:
    return [item for item in table_items(stack) if item["SK"]["S"] == "PROFILE"]


@pytest.mark.parametrize("create_in_stripe", [False, True])
def test_concurrent_get_or_create_with_one_new_id_yields_one_customer(
    clean_stack: LocalStack, create_in_stripe: bool
) -> None:
    assert clean_stack.emulator is not None
    # Slow Stripe down so that every caller is inside the race at the same time.
    clean_stack.emulator.delay("POST", "/v1/customers", 0.2)
    body = {
        "customer_id": "user_race",
        "email": "race@example.com",
        "create_in_stripe": create_in_stripe,
    }

    answers = storm(clean_stack, "/v1/customers.get_or_create", [body] * CALLERS)

    assert [a.status_code for a in answers] == [200] * CALLERS
    assert len({a.text for a in answers}) == 1, "every caller gets the same customer"
    assert len(profiles(clean_stack)) == 1
    expected_stripe_customers = 1 if create_in_stripe else 0
    assert clean_stack.emulator.count("customer") == expected_stripe_customers
    assert (answers[0].json()["stripe_id"] is not None) is create_in_stripe


def test_two_concurrent_claims_of_one_email_cannot_both_win(clean_stack: LocalStack) -> None:
    precreated = storm(
        clean_stack,
        "/v1/customers.get_or_create",
        [{"customer_id": None, "email": "cfo@bigco.com", "metadata": {"deal": "enterprise"}}],
    )[0].json()

    answers = storm(
        clean_stack,
        "/v1/customers.get_or_create",
        [
            {"customer_id": "org_a", "email": "cfo@bigco.com"},
            {"customer_id": "org_b", "email": "CFO@bigco.com"},
        ],
    )

    assert [a.status_code for a in answers] == [200, 200]
    winners = [a.json() for a in answers if a.json()["created_at"] == precreated["created_at"]]
    assert len(winners) == 1
    assert winners[0]["metadata"] == {"deal": "enterprise"}
    ids = sorted(str(p["customer_id"]["S"]) for p in profiles(clean_stack) if "customer_id" in p)
    assert ids == ["org_a", "org_b"]
    assert len(profiles(clean_stack)) == 2, "the id-less record is gone: it became the winner"


def test_concurrent_idless_creations_with_one_email_yield_one_customer(
    clean_stack: LocalStack,
) -> None:
    answers = storm(
        clean_stack,
        "/v1/customers.get_or_create",
        [
            {"customer_id": None, "email": f"{case}@bigco.com"}
            for case in ["cfo", "CFO", "Cfo", "cFO"] * 3
        ],
    )

    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["created_at"] for a in answers}) == 1
    assert len(profiles(clean_stack)) == 1


def test_concurrent_retries_with_one_idempotency_key_run_the_request_once(
    clean_stack: LocalStack,
) -> None:
    assert clean_stack.emulator is not None
    clean_stack.emulator.delay("POST", "/v1/customers", 0.2)
    body = {"customer_id": "user_idem", "create_in_stripe": True}

    answers = storm(
        clean_stack, "/v1/customers.get_or_create", [body] * 8, **{"Idempotency-Key": "k-1"}
    )

    succeeded = [a for a in answers if a.status_code == 200]
    assert succeeded, "the first caller's request ran"
    assert len({a.text for a in succeeded}) == 1
    for refused in (a for a in answers if a.status_code != 200):
        assert refused.status_code == 409
        assert refused.json()["code"] == "idempotency_key_in_progress"
    assert clean_stack.emulator.count("customer") == 1
    assert len(profiles(clean_stack)) == 1


@pytest.fixture
def metered_customer(clean_stack: LocalStack) -> LocalStack:
    setup = [
        ("/v1/features.create", {"feature_id": "messages", "name": "Messages", "type": "metered"}),
        ("/v1/customers.get_or_create", {"customer_id": "u"}),
        (
            "/v1/balances.create",
            {"customer_id": "u", "feature_id": "messages", "included_grant": 100},
        ),
    ]
    for path, body in setup:
        assert storm(clean_stack, path, [body])[0].status_code == 200
    return clean_stack


def remaining(stack: LocalStack) -> float:
    (answer,) = storm(stack, "/v1/customers.get", [{"customer_id": "u"}])
    return float(answer.json()["balances"]["messages"]["remaining"])


@pytest.mark.parametrize("rounds", range(3))
def test_concurrent_keyed_tracks_deduct_once_and_never_fail(
    metered_customer: LocalStack, rounds: int
) -> None:
    body = {"customer_id": "u", "feature_id": "messages", "value": 3}

    answers = storm(
        metered_customer, "/v1/balances.track", [body] * 8, **{"Idempotency-Key": f"t-{rounds}"}
    )

    assert {a.status_code for a in answers} <= {200, 409}, [a.text for a in answers]
    for refused in (a for a in answers if a.status_code == 409):
        assert refused.json()["code"] == "idempotency_key_in_progress"
    assert len({a.json()["balance"]["remaining"] for a in answers if a.status_code == 200}) == 1
    assert remaining(metered_customer) == 97
