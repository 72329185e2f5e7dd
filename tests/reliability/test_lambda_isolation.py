"""The local stack runs every function in one process; Lambda never lets two requests share
an instance. Concurrent requests must never see each other's event, body or answer."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from local.stack import LocalStack
from tests.conftest import SECRET_KEY

REQUESTS = 200


def test_concurrent_keyed_requests_each_answer_their_own_body(clean_stack: LocalStack) -> None:
    def create(n: int) -> tuple[int, httpx.Response]:
        with httpx.Client(base_url=clean_stack.api_url, timeout=60) as client:
            return n, client.post(
                "/v1/customers.get_or_create",
                json={"customer_id": f"user_{n}", "name": f"User {n}"},
                headers={"Authorization": f"Bearer {SECRET_KEY}", "Idempotency-Key": f"key-{n}"},
            )

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(create, range(REQUESTS)))

    assert [a.status_code for _, a in answers] == [200] * REQUESTS
    mixed = [n for n, a in answers if a.json()["id"] != f"user_{n}"]
    assert mixed == [], f"{len(mixed)} of {REQUESTS} answered another request's body"
