"""Fixtures shared by every suite: one real local stack per test worker.

DynamoDB is moto's server over HTTP, Stripe is the emulator driven by the real stripe SDK,
and requests go through the local HTTP API to the real handlers, as in `make dev`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import boto3
import httpx
import pytest
from hypothesis import settings

from local.stack import LocalStack, StackConfig, ensure_path

# Property tests assert outcomes, not speed: on a loaded two-core machine one example may take
# longer than hypothesis' default 200 ms deadline, which would fail a correct run.
settings.register_profile("suite", deadline=None)
settings.load_profile("suite")

SECRET_KEY = "am_sk_test_suite_key"


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    ensure_path()
    config = StackConfig(
        secret_key=SECRET_KEY,
        table_name="billing-test",
        # Short waits: a suite drains the usage queue often.
        queue_window_s=0.1,
        queue_retry_delay_s=0,
    )
    running = LocalStack(config).start()
    _running.append(running)
    yield running
    _running.remove(running)
    running.stop()


# The session's stack, while it runs in this process (see `stack_held`).
_running: list[LocalStack] = []


@contextmanager
def stack_held() -> Iterator[None]:
    """The session's stack, if it runs in this process, does nothing in the background while
    inside: no queue batches (waiting for one in flight) and no Stripe webhook deliveries.
    Its functions share this process's cached settings and clients: a purge left queued by
    the last test must not rebuild them while a test points them at an in-process DynamoDB."""
    with ExitStack() as held:
        for running in _running:
            held.enter_context(running.stripe_webhooks_paused())
            for poller in running.pollers:
                held.enter_context(poller.held())
        yield


@pytest.fixture
def clean_stack(stack: LocalStack) -> LocalStack:
    """The stack with an empty table, no queued uses and a fresh Stripe emulator."""
    return emptied(stack)


def emptied(stack: LocalStack) -> LocalStack:
    """Empties the stack (table, queues, Stripe emulator): `clean_stack`, and each example
    of a property test that needs an empty stack of its own."""
    stack.drain_queues()
    table = dynamodb_client(stack)
    for page in table.get_paginator("scan").paginate(TableName=stack.config.table_name):
        for item in page["Items"]:
            table.delete_item(
                TableName=stack.config.table_name, Key={"PK": item["PK"], "SK": item["SK"]}
            )
    assert stack.emulator is not None
    stack.emulator.reset()
    return stack


# The billing invariants (I1-I6) checked after every test of the local stack: off unless set
# to 1 (the lead switches it on by default once the drifts it finds today are fixed).
AUDIT_AFTER_TESTS = "BILLING_AUDIT_AFTER_TESTS"


@pytest.fixture(autouse=True)
def billing_invariants(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test that used the local stack (`clean_stack`, so also `api`), the billing
    audit runs over every customer, in this process, and any drift fails the test, naming
    the invariant and the customer. Off unless BILLING_AUDIT_AFTER_TESTS=1."""
    on = os.environ.get(AUDIT_AFTER_TESTS, "0") == "1"
    if not on or "clean_stack" not in request.fixturenames:
        yield
        return
    stack: LocalStack = request.getfixturevalue("stack")
    yield
    outcome = getattr(request.node, "call_outcome", None)
    if outcome is not None and outcome.failed:
        return  # a test that failed says what went wrong; what it left half done is no news
    expected = request.node.get_closest_marker("billing_drift_expected")
    allowed = set(expected.args[0]) if expected is not None else set()
    drifts = [d for d in audit_drifts(stack) if d.invariant not in allowed]
    if drifts:
        pytest.fail(
            "billing invariants broken after the test:\n"
            + "\n".join(
                f"  {d.invariant} customer {d.customer_id or d.internal_id}: {d.found}"
                for d in drifts
            ),
            pytrace=False,
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keeps the outcome of the test's own run on it, for the after-test billing audit."""
    report = yield
    if report.when == "call":
        item.call_outcome = report  # type: ignore[attr-defined]
    return report


def audit_drifts(stack: LocalStack) -> list[Any]:
    """Every drift the billing audit finds on the stack now (one pass, in this process; the
    Stripe listing skipped while the emulator holds no subscription)."""
    from billing.services.audit import audit_customers
    from billing.stripe_api import get_gateway

    stack.drain_queues()
    list_stripe = stack.emulator is None or stack.emulator.count("subscription") > 0
    return list(audit_customers(get_gateway, page_size=100, list_stripe=list_stripe).drifts)


@pytest.fixture
def api(clean_stack: LocalStack) -> Iterator[httpx.Client]:
    """An HTTP client for the billing API, authenticated with the suite's secret key."""
    with httpx.Client(
        base_url=clean_stack.api_url,
        headers={"Authorization": f"Bearer {SECRET_KEY}"},
        timeout=30,
    ) as client:
        yield client


def dynamodb_client(stack: LocalStack) -> Any:
    return boto3.client("dynamodb", endpoint_url=stack.dynamodb_url, region_name="us-east-1")


def table_items(stack: LocalStack) -> list[dict[str, Any]]:
    client = dynamodb_client(stack)
    items: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(TableName=stack.config.table_name):
        items.extend(page["Items"])
    return items


def stripe_client(stack: LocalStack) -> Any:
    import stripe

    assert stack.stripe_url is not None
    return stripe.StripeClient("sk_test_suite", base_addresses={"api": stack.stripe_url})


def with_metered_balance(api: httpx.Client, included: int) -> httpx.Client:
    """Customer `u` holding `included` units of the metered feature `messages`."""
    api.post(
        "/v1/features.create",
        json={"feature_id": "messages", "name": "Messages", "type": "metered"},
    )
    api.post("/v1/customers.get_or_create", json={"customer_id": "u"})
    api.post(
        "/v1/balances.create",
        json={"customer_id": "u", "feature_id": "messages", "included_grant": included},
    )
    return api


def remaining_messages(api: httpx.Client) -> float:
    answer = api.post("/v1/customers.get", json={"customer_id": "u"}).json()
    return float(answer["balances"]["messages"]["remaining"])


@contextmanager
def in_process_table(env: pytest.MonkeyPatch, name: str) -> Iterator[None]:
    """The template's table in an in-process DynamoDB (moto), for fast tests of the store;
    the clients are forgotten before and after, so the next tests talk to the local stack."""
    from moto import mock_aws

    from billing.config import reset_caches
    from billing.store import table
    from local.template import load_template, table_definition

    with stack_held(), mock_aws():
        env.delenv("DYNAMODB_ENDPOINT_URL", raising=False)
        env.setenv("TABLE_NAME", name)
        env.setenv("API_KEY_HASHES", "0" * 64)
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        reset_caches()
        table.client.cache_clear()
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(**table_definition(load_template(), name))
        try:
            yield
        finally:
            env.undo()
            reset_caches()
            table.client.cache_clear()
