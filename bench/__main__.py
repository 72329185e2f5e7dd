"""`make bench`: DynamoDB round trips per operation, through the real HTTP path.

Runs the local stack in-process (moto server over HTTP, Stripe emulator, local HTTP API) and
prints how many DynamoDB calls each customers operation makes in its common case.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import httpx

from bench import cold_start, queued, warm
from bench.round_trips import counting_dynamodb_calls
from local.stack import LocalStack, StackConfig, ensure_path, quiet_metrics

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
        *hot_path(post),
    ]


def hot_path(post: Callable[..., Callable[[httpx.Client], httpx.Response]]) -> list[Scenario]:
    check = {"customer_id": "bench_4", "feature_id": "messages"}
    return [
        ("balances.check", "metered feature", 1, post("/v1/balances.check", check)),
        (
            "balances.check",
            "send_event",
            2,
            post("/v1/balances.check", {**check, "send_event": True}),
        ),
        ("balances.track", "one grant", 2, post("/v1/balances.track", check)),
        (
            "balances.track",
            "with Idempotency-Key",
            2,
            post("/v1/balances.track", check, **{"Idempotency-Key": "bench-track"}),
        ),
    ]


# The hot path's functions keep the catalog for 30 s (services/balances/catalog_cache.py): one call
# in 30 s per warm instance reads it again. The rows count a warm instance's calls, so each
# is measured right after a call of its own function (another customer) that refreshed the
# catalog: on a loaded machine the rows before it can take longer than 30 s.
HOT = {"balances.check": "/v1/balances.check", "balances.track": "/v1/balances.track"}


def warm_catalog(api: httpx.Client, operation: str) -> None:
    api.post(HOT[operation], json={"customer_id": "bench_5", "feature_id": "messages"})


def main() -> int:
    ensure_path()
    # A batching window long enough to gather a backlog of queued uses into one batch of the
    # template's size, as Lambda's poller does; moto answers receives slower than SQS.
    config = StackConfig(secret_key=SECRET, table_name="billing-bench", queue_window_s=30)
    quiet_metrics()
    stack = LocalStack(config).start()
    try:
        with httpx.Client(
            base_url=stack.api_url,
            headers={"Authorization": f"Bearer {SECRET}"},
            # A loaded two-core machine can take seconds for a call; never fail one for it.
            timeout=120,
        ) as api:
            api.post(
                "/v1/features.create",
                json={"feature_id": "messages", "name": "Messages", "type": "metered"},
            )
            api.post(
                "/v1/plans.create",
                json={
                    "plan_id": "free",
                    "name": "Free",
                    "auto_enable": True,
                    "items": [{"feature_id": "messages", "included": 1000}],
                },
            )
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
                if operation in HOT:
                    warm_catalog(api, operation)
                # The webhook a Stripe call sets off is the webhook function's work.
                with stack.stripe_webhooks_paused(), counting_dynamodb_calls() as calls:
                    response = call(api)
                response.raise_for_status()
                mark = "" if budget is None else str(budget)
                if budget is not None and calls.total > budget:
                    over_budget += 1
                    mark += " OVER"
                print(f"{operation:26} {case:34} {calls.total:>5} {mark:>6}  {calls.summary()}")
            print("\nAsync track: queued uses of one customer/feature (the usage worker)\n")
            print("\n".join(queued.report(stack, api, "bench_6", "messages")))
    finally:
        stack.stop()
    print("\nWarm overhead of our code (check, track, queued track, get_or_create)\n")
    print("\n".join(warm.report()))
    print("\nCold start: importing the hot handlers (fresh interpreters, least of 15 runs)\n")
    print("\n".join(cold_start.report()))
    return 1 if over_budget else 0


if __name__ == "__main__":
    sys.exit(main())
