"""Races a billing system must win: many callers, one customer; one email, one claim."""

from __future__ import annotations

import threading
import time
from collections import Counter
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


RACES = 30


def race(stack: LocalStack, *requests: tuple[str, dict[str, object]]) -> list[httpx.Response]:
    """Sends the requests at once, each from its own connection."""

    def send(request: tuple[str, dict[str, object]]) -> httpx.Response:
        path, body = request
        with httpx.Client(base_url=stack.api_url, timeout=60) as client:
            return client.post(path, json=body, headers={"Authorization": f"Bearer {SECRET_KEY}"})

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(send, requests))


def holding_items(stack: LocalStack) -> list[dict[str, object]]:
    return [i for i in table_items(stack) if str(i["SK"]["S"]).startswith(("GRANT#", "FLAG#"))]


@pytest.mark.parametrize(
    "goes_away",
    [
        pytest.param(("/v1/customers.delete", {"customer_id": "victim"}), id="delete"),
        pytest.param(
            ("/v1/customers.update", {"customer_id": "victim", "new_customer_id": "moved"}),
            id="rename",
        ),
    ],
)
def test_a_balance_given_while_its_customer_goes_away_never_reaches_the_next_one(
    api: httpx.Client, clean_stack: LocalStack, goes_away: tuple[str, dict[str, object]]
) -> None:
    api.post("/v1/features.create", json={"feature_id": "gold", "name": "G", "type": "metered"})
    given = (
        "/v1/balances.create",
        {"customer_id": "victim", "feature_id": "gold", "included_grant": 100},
    )
    inherited = 0
    for _ in range(RACES):
        api.post("/v1/customers.get_or_create", json={"customer_id": "victim"})

        race(clean_stack, given, goes_away)
        api.post("/v1/customers.delete", json={"customer_id": "moved"})
        api.post("/v1/customers.get_or_create", json={"customer_id": "victim"})
        check = api.post(
            "/v1/balances.check",
            json={"customer_id": "victim", "feature_id": "gold", "required_balance": 100},
        )
        inherited += check.json()["allowed"]
        api.post("/v1/customers.delete", json={"customer_id": "victim"})

    assert inherited == 0
    assert holding_items(clean_stack) == [], "no grant is left without its customer"


TRACKERS = 4


def test_a_rename_under_tracking_load_succeeds_and_loses_no_deduction(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    api.post("/v1/features.create", json={"feature_id": "msgs", "name": "M", "type": "metered"})
    api.post("/v1/customers.get_or_create", json={"customer_id": "busy"})
    api.post(
        "/v1/balances.create",
        json={"customer_id": "busy", "feature_id": "msgs", "included_grant": 10**6},
    )
    stop = threading.Event()

    def keep_tracking() -> Counter[int]:
        answers: Counter[int] = Counter()
        with httpx.Client(
            base_url=clean_stack.api_url,
            timeout=60,
            headers={"Authorization": f"Bearer {SECRET_KEY}"},
        ) as client:
            while not stop.is_set():
                answer = client.post(
                    "/v1/balances.track",
                    json={"customer_id": "busy", "feature_id": "msgs", "value": 1},
                )
                answers[answer.status_code] += 1
                if answer.status_code == 404:
                    return answers  # renamed: the old id is gone
        return answers

    with ThreadPoolExecutor(max_workers=TRACKERS) as pool:
        trackers = [pool.submit(keep_tracking) for _ in range(TRACKERS)]
        time.sleep(0.5)  # every tracker is at it
        renamed = api.post(
            "/v1/customers.update", json={"customer_id": "busy", "new_customer_id": "calm"}
        )
        stop.set()
        answers = sum((t.result() for t in trackers), Counter[int]())

    assert renamed.status_code == 200, renamed.text
    assert set(answers) <= {200, 404, 423}, answers
    usage = api.post("/v1/customers.get", json={"customer_id": "calm"}).json()
    assert usage["balances"]["msgs"]["usage"] == answers[200], "every deduction answered moved"


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


UPDATES = 10


def test_an_operators_balance_update_wins_against_tracking_threads_every_time(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    """balances.update fences the customer's holdings while it writes, as a rename does:
    trackers wait it out, so the operator's change never loses the race for good (423)."""
    api.post("/v1/features.create", json={"feature_id": "msgs", "name": "M", "type": "metered"})
    api.post("/v1/customers.get_or_create", json={"customer_id": "busy"})
    api.post(
        "/v1/balances.create",
        json={"customer_id": "busy", "feature_id": "msgs", "included_grant": 10**6},
    )
    stop = threading.Event()

    def keep_tracking() -> Counter[int]:
        answers: Counter[int] = Counter()
        with httpx.Client(
            base_url=clean_stack.api_url,
            timeout=60,
            headers={"Authorization": f"Bearer {SECRET_KEY}"},
        ) as client:
            while not stop.is_set():
                answer = client.post(
                    "/v1/balances.track",
                    json={"customer_id": "busy", "feature_id": "msgs", "value": 1},
                )
                answers[answer.status_code] += 1
        return answers

    with ThreadPoolExecutor(max_workers=TRACKERS) as pool:
        trackers = [pool.submit(keep_tracking) for _ in range(TRACKERS)]
        time.sleep(0.3)  # every tracker is at it
        updates = [
            api.post(
                "/v1/balances.update",
                json={"customer_id": "busy", "feature_id": "msgs", "add_to_balance": 1000},
            )
            for _ in range(UPDATES)
        ]
        stop.set()
        answers = sum((t.result() for t in trackers), Counter[int]())

    assert [u.status_code for u in updates] == [200] * UPDATES, [u.text for u in updates]
    assert set(answers) <= {200, 423}, answers
    held = api.post("/v1/customers.get", json={"customer_id": "busy"}).json()
    msgs = held["balances"]["msgs"]
    # Every deduction answered counts, and every update's 1000 is there: nothing lost.
    assert msgs["usage"] == answers[200] - 1000 * UPDATES, msgs
