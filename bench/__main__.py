"""`make bench`: DynamoDB round trips per operation, through the real HTTP path.

Runs the local stack in-process (moto server over HTTP, Stripe emulator, local HTTP API) and
prints how many DynamoDB calls each customers operation makes in its common case.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import httpx

from bench.round_trips import counting_dynamodb_calls
from local.stack import LocalStack, StackConfig, ensure_path

SECRET = "am_sk_bench"  # noqa: S105 (a throwaway key for an in-process stack)

# (operation, what it does, budget or None when no budget is set)
Scenario = tuple[str, str, int | None, Callable[[httpx.Client], httpx.Response]]


def scenarios() -> list[Scenario]:
    def post(
        path: str, body: dict[str, object], **headers: str
    ) -> Callable[[httpx.Client], httpx.Response]:
        return lambda api: api.post(path, json=body, headers=headers)

    return [
        (
            "customers.get_or_create",
            "new customer",
            None,
            post(
                "/v1/customers.get_or_create",
                {"customer_id": "bench_new", "email": "n@example.com"},
            ),
        ),
        (
            "customers.get_or_create",
            "existing customer",
            1,
            post("/v1/customers.get_or_create", {"customer_id": "bench_1"}),
        ),
        (
            "customers.get_or_create",
            "existing, Stripe linked",
            1,
            post(
                "/v1/customers.get_or_create", {"customer_id": "bench_1", "create_in_stripe": True}
            ),
        ),
        (
            "customers.get_or_create",
            "new, create_in_stripe",
            None,
            post(
                "/v1/customers.get_or_create",
                {"customer_id": "bench_stripe", "create_in_stripe": True},
            ),
        ),
        (
            "customers.get_or_create",
            "claim of an id-less customer",
            None,
            post(
                "/v1/customers.get_or_create",
                {"customer_id": "bench_claim", "email": "cfo@bigco.com"},
            ),
        ),
        (
            "customers.get_or_create",
            "existing, with Idempotency-Key",
            3,
            post(
                "/v1/customers.get_or_create",
                {"customer_id": "bench_1"},
                **{"Idempotency-Key": "bench-key"},
            ),
        ),
        (
            "customers.get",
            "existing customer",
            1,
            post("/v1/customers.get", {"customer_id": "bench_1"}),
        ),
        ("customers.list", "page of 10", 11, post("/v1/customers.list", {"limit": 10})),
        (
            "customers.update",
            "change the name",
            2,
            post("/v1/customers.update", {"customer_id": "bench_1", "name": "Renamed"}),
        ),
        (
            "customers.update",
            "rename the id",
            None,
            post("/v1/customers.update", {"customer_id": "bench_2", "new_customer_id": "bench_2b"}),
        ),
        (
            "customers.delete",
            "customer",
            None,
            post("/v1/customers.delete", {"customer_id": "bench_3"}),
        ),
    ]


def main() -> int:
    ensure_path()
    stack = LocalStack(StackConfig(secret_key=SECRET, table_name="billing-bench")).start()
    try:
        with httpx.Client(
            base_url=stack.api_url, headers={"Authorization": f"Bearer {SECRET}"}
        ) as api:
            for n in range(1, 13):
                api.post(
                    "/v1/customers.get_or_create",
                    json={"customer_id": f"bench_{n}", "create_in_stripe": n == 1},
                )
            api.post(
                "/v1/customers.get_or_create", json={"customer_id": None, "email": "cfo@bigco.com"}
            )
            print("DynamoDB round trips per operation (warm, through the HTTP API)\n")
            print(f"{'operation':26} {'case':34} {'calls':>5} {'budget':>6}  by API call")
            over_budget = 0
            for operation, case, budget, call in scenarios():
                with counting_dynamodb_calls() as calls:
                    response = call(api)
                response.raise_for_status()
                mark = "" if budget is None else str(budget)
                if budget is not None and calls.total > budget:
                    over_budget += 1
                    mark += " OVER"
                print(f"{operation:26} {case:34} {calls.total:>5} {mark:>6}  {calls.summary()}")
    finally:
        stack.stop()
    return 1 if over_budget else 0


if __name__ == "__main__":
    sys.exit(main())
