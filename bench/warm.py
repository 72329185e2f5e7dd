"""Our code's warm time per invocation, with DynamoDB stubbed: the handler from API Gateway
event to response, minus the network. The stub answers from items built by our own store
code, so the handler parses exactly what DynamoDB would send."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import time
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
INVOCATIONS = 2000
KEY = "am_sk_bench"


class StubbedDynamoDB:
    """Answers Query with fixed items and accepts every write."""

    def __init__(self, partition: list[dict[str, Any]], features: list[dict[str, Any]]) -> None:
        self.partition, self.features, self.calls = partition, features, 0

    def query(self, **params: Any) -> dict[str, Any]:
        self.calls += 1
        pk = params["ExpressionAttributeValues"][":pk"]["S"]
        return {"Items": self.features if pk == "CATALOG" else self.partition}

    def transact_write_items(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        return {}

    def send_message(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        return {"MessageId": "bench"}


def _items() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from billing.domain.customers import Customer
    from billing.domain.features import Feature
    from billing.domain.holdings import Grant, Holdings
    from billing.domain.terms import Reset
    from billing.store import holding_items, profiles, records

    grant = Grant(
        id="cus_ent_1",
        feature_id="messages",
        plan_id="free",
        included=Decimal(10) ** 9,
        reset=Reset(interval="month"),
        anchor_at=1,
        next_reset_at=4_000_000_000_000,
    )
    customer = Customer(
        internal_id="cus_1", id="u", created_at=1, metadata={}, holdings=Holdings(grants=(grant,))
    )
    partition = [
        profiles.profile_item(customer),
        *holding_items.items_of("CUS#u", customer.internal_id, customer.holdings),
    ]
    feature = Feature(id="messages", name="Messages", type="metered", consumable=True)
    catalog = [
        {
            "PK": {"S": "CATALOG"},
            "SK": {"S": "FEATURE#messages"},
            "body": {"S": records.to_json(feature)},
            "revision": {"N": "1"},
        }
    ]
    return partition, catalog


def _handler(function: str) -> Any:
    spec = importlib.util.spec_from_file_location(
        f"warm_{function}", ROOT / "functions" / function / "app.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.lambda_handler


def _event(path: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": f"POST {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"authorization": f"Bearer {KEY}", "content-type": "application/json"},
        "requestContext": {"http": {"method": "POST", "path": path}, "stage": "$default"},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


class _Context:
    function_name = "bench"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:local:000000000000:function:bench"
    aws_request_id = "bench"


# (function, path, body) of each warm path timed: the hot operations of the cost model.
CASES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("balances_check", "/v1/balances.check", {"customer_id": "u", "feature_id": "messages"}),
    ("balances_track", "/v1/balances.track", {"customer_id": "u", "feature_id": "messages"}),
    (
        "balances_track (async)",
        "/v1/balances.track",
        {"customer_id": "u", "feature_id": "messages", "async": True},
    ),
    ("customers_get_or_create", "/v1/customers.get_or_create", {"customer_id": "u"}),
)


class Timing(NamedTuple):
    ms: float  # our code's time per warm invocation, DynamoDB (and SQS) stubbed
    calls: int  # stubbed calls it made


def timings(invocations: int = INVOCATIONS) -> dict[str, Timing]:
    """Each case's warm time per invocation on this machine, by function (and mode)."""
    import hashlib

    os.environ.update(
        {
            "TABLE_NAME": "bench",
            "API_KEY_HASHES": hashlib.sha256(KEY.encode()).hexdigest(),
            "STRIPE_SECRET_KEY": "sk_test_bench",
            "POWERTOOLS_LOG_LEVEL": "ERROR",
            "TRACK_QUEUE_URL": "http://localhost/queue/bench",
        }
    )
    from billing import sqs
    from billing.config import reset_caches
    from billing.services.balances import catalog_cache
    from billing.store import table

    reset_caches()
    catalog_cache.forget()
    partition, features = _items()
    stub = StubbedDynamoDB(partition, features)
    table.client.cache_clear()
    sqs._client.cache_clear()
    found: dict[str, Timing] = {}
    try:
        # The metrics each invocation prints (EMF, as Lambda writes them to its log) are
        # part of its time; they go nowhere here rather than onto the report.
        with (
            mock.patch("botocore.session.Session.create_client", return_value=stub),
            open(os.devnull, "w") as logs,
            contextlib.redirect_stdout(logs),
        ):
            for name, path, body in CASES:
                handler = _handler(name.split(" ")[0])
                event = _event(path, body)
                answer = handler(event, _Context())
                assert answer["statusCode"] in (200, 202), answer
                stub.calls = 0
                start = time.perf_counter()
                for _ in range(invocations):
                    handler(event, _Context())
                per_call = (time.perf_counter() - start) / invocations
                found[name] = Timing(per_call * 1000, stub.calls // invocations)
    finally:
        table.client.cache_clear()
        sqs._client.cache_clear()
        os.environ.pop("TRACK_QUEUE_URL", None)
        reset_caches()
        catalog_cache.forget()
    return found


def report(found: dict[str, Timing] | None = None) -> list[str]:
    found = found if found is not None else timings()
    # The hot path's budget: check and track, each under a millisecond of our own code.
    targets = {"balances_check", "balances_track"}
    return [
        f"{name:24} {timing.ms:6.3f} ms per warm invocation, stubbed"
        f" ({timing.calls} DynamoDB/SQS calls each"
        f"{'; target < 1 ms' if name in targets else ''})"
        for name, timing in found.items()
    ]
