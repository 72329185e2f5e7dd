"""Fixtures shared by every suite: one real local stack per test worker.

DynamoDB is moto's server over HTTP, Stripe is the emulator driven by the real stripe SDK,
and requests go through the local HTTP API to the real handlers, as in `make dev`.

Webhook delivery modes: the emulator delivers Stripe's events either in order, once,
before each Stripe call answers (the default), or realistically: after the answer,
shuffled, some twice, some late (see local/stripe_emulator/realistic.py). The billing and
lifecycle scenario files (`REALISTIC_SCENARIOS`) and tests marked `realistic_delivery` run
in both modes (ids `[ordered]` and `[realistic]`); in realistic mode the test's API client
and Stripe client settle the stack before each request and after each answer, so the
test's assertions see the converged state while within each step the events arrive
shuffled, duplicated and late. A failed realistic test's report names the seed; run it
again with STRIPE_WEBHOOK_SEED=<seed> to get the same deliveries.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Generator, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from hypothesis import settings

from local.stack import LocalStack, StackConfig, ensure_path, seed_from
from local.stripe_emulator.realistic import ORDERED, REALISTIC
from tests.compat.autumn_openapi.js_models import js_models
from tests.compat.autumn_openapi.recorder import AnswerChecks

# Property tests assert outcomes, not speed: on a loaded two-core machine one example may take
# longer than hypothesis' default 200 ms deadline, which would fail a correct run.
settings.register_profile("suite", deadline=None)
settings.load_profile("suite")

# httpx's default 5 s per call (every `httpx.post(...)` and client a test makes without its
# own timeout) is less than one Stripe-backed request can take on a loaded two-core machine:
# the suite's calls wait as long as a test may. The default is one shared object, so setting
# it here reaches every call that leaves the timeout out.
_DEFAULT_HTTPX_TIMEOUT = httpx._config.DEFAULT_TIMEOUT_CONFIG
_DEFAULT_HTTPX_TIMEOUT.connect = _DEFAULT_HTTPX_TIMEOUT.read = 120.0
_DEFAULT_HTTPX_TIMEOUT.write = _DEFAULT_HTTPX_TIMEOUT.pool = 120.0

SECRET_KEY = "am_sk_test_suite_key"
# autumn-sdk's own HTTP client gives up after httpx's default 5 s, which one attach through
# Stripe can take on a loaded two-core machine: the tests wait for the answer instead.
SDK_TIMEOUT_MS = 300_000

# Every test fails if a billing log line it caused carries a secret, key or card number.
pytest_plugins = ["tests.log_secrets"]

# Scenario files whose every test (that uses the stack) also runs with realistic delivery:
# the ones that drive Checkout, declines, renewals, cancellations and schedules through
# Stripe's webhooks. The billing layer must end in the same state whatever the order.
REALISTIC_SCENARIOS = frozenset(
    {
        "tests/integration/test_attach_api.py",
        "tests/integration/test_billing_update_api.py",
        "tests/integration/test_subscription_lifecycle.py",
        "tests/integration/test_stripe_lifecycle.py",
        "tests/integration/test_uncancel_scheduled_downgrade.py",
        "tests/integration/test_setup_payment_api.py",
        "tests/integration/test_invoices_and_clocks_api.py",
        "tests/integration/test_subscription_ids.py",
        "tests/integration/test_plan_changes_converge.py",
    }
)
# Tests of those files that run in ordered mode only, each with why ("file::test": reason).
# Most deliver no webhook worth shuffling: a second run would cost time and prove nothing.
_NO_WEBHOOK = "refused before any Stripe event is emitted: nothing to deliver out of order"
_HAND_DRIVEN = (
    "delivers events by hand (webhooks paused, then redelivered in a chosen order): it is "
    "already an out-of-order scenario, pinned step by step"
)
ORDERED_ONLY: dict[str, str] = {
    "test_attach_api.py::test_bad_attach_requests_are_refused_and_change_nothing": _NO_WEBHOOK,
    "test_attach_api.py::test_attaching_a_plan_already_held_is_a_409": _NO_WEBHOOK,
    "test_attach_api.py::test_an_attach_while_another_billing_change_runs_is_a_423_and_"
    "changes_nothing": _NO_WEBHOOK,
    "test_billing_update_api.py::test_bad_update_requests_are_refused_and_change_nothing": (
        _NO_WEBHOOK
    ),
    "test_billing_update_api.py::test_an_update_while_another_billing_change_runs_is_a_423_"
    "and_changes_nothing": _NO_WEBHOOK,
    "test_invoices_and_clocks_api.py::test_bad_clock_advances_are_refused_and_change_"
    "nothing": _NO_WEBHOOK,
    "test_invoices_and_clocks_api.py::test_invoices_list_needs_a_known_customer": _NO_WEBHOOK,
    "test_setup_payment_api.py::test_an_unreadable_body_is_a_400_and_changes_nothing": (
        _NO_WEBHOOK
    ),
    "test_setup_payment_api.py::test_bad_setups_are_refused_and_change_nothing": _NO_WEBHOOK,
    "test_setup_payment_api.py::test_a_plan_already_held_is_refused_before_any_card_is_"
    "asked_for": _NO_WEBHOOK,
    "test_stripe_lifecycle.py::test_a_forged_or_stale_signature_is_400_and_changes_nothing": (
        "posts hand-made events to the webhook route; the emulator delivers none of them"
    ),
    "test_stripe_lifecycle.py::test_an_event_for_a_stripe_customer_that_is_none_of_ours_is_"
    "acknowledged_without_a_write": "posts a hand-made event; the emulator delivers none",
    "test_subscription_lifecycle.py::test_a_subscription_event_of_an_unknown_customer_is_"
    "acknowledged_without_a_write": "posts a hand-made event; the emulator delivers none",
    "test_stripe_lifecycle.py::test_every_event_delivered_again_or_shuffled_ends_in_the_same_"
    "state": "replays every event twice and shuffled by hand: the realistic mode's own check",
    "test_stripe_lifecycle.py::test_a_renewal_failing_before_its_purchase_was_granted_is_"
    "retried_not_lost": _HAND_DRIVEN,
    "test_subscription_lifecycle.py::test_an_event_arriving_before_the_payment_is_granted_is_"
    "retried_not_lost": _HAND_DRIVEN,
}
_ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    # One seed for the whole run: xdist's workers inherit it from the controller.
    os.environ.setdefault(SEED_VARIABLE, str(_SEED))
    config.addinivalue_line(
        "markers",
        "realistic_delivery: also run against realistic Stripe webhook delivery "
        "(after the answer, shuffled, some twice, some late; seeded)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "delivery" not in metafunc.fixturenames:
        return
    path = Path(metafunc.definition.path).resolve().relative_to(_ROOT).as_posix()
    wanted = path in REALISTIC_SCENARIOS or metafunc.definition.get_closest_marker(
        "realistic_delivery"
    )
    key = f"{Path(path).name}::{metafunc.definition.originalname}"
    if wanted and key not in ORDERED_ONLY:
        metafunc.parametrize("delivery", [ORDERED, REALISTIC], indirect=True)


def pytest_report_header(config: pytest.Config) -> str:
    return f"realistic Stripe webhook delivery: {SEED_VARIABLE}={_SEED}"


def suite_webhook_seed() -> int:
    """Realistic delivery's seed for this run: STRIPE_WEBHOOK_SEED, else a random one."""
    chosen = seed_from(os.environ.get(SEED_VARIABLE))
    return secrets.randbelow(2**32) if chosen is None else chosen


SEED_VARIABLE = "STRIPE_WEBHOOK_SEED"
_SEED = suite_webhook_seed()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        # The after-test billing audit (`billing_invariants`) skips a test that failed.
        item.call_outcome = report  # type: ignore[attr-defined]
    callspec = getattr(item, "callspec", None)
    if report.failed and callspec is not None and callspec.params.get("delivery") == REALISTIC:
        report.sections.append(
            (
                "realistic webhook delivery",
                f"seed {_SEED}; replay: {SEED_VARIABLE}={_SEED} python -m pytest '{item.nodeid}'",
            )
        )


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
    # autumn-js's answer parser (node) loads while the stack starts, not in a first answer.
    js_models()
    running = LocalStack(config).start()
    assert running.http_api is not None
    running.http_api.observers.append(_answer_checks.observe)
    _running.append(running)
    yield running
    _running.remove(running)
    running.stop()


# The session's stack, while it runs in this process (see `stack_held`).
_running: list[LocalStack] = []


@contextmanager
def stack_held() -> Iterator[None]:
    """The session's stack, if it runs in this process, does nothing in the background while
    inside: no queue batches (waiting for one in flight), no outbox sweeps and no Stripe
    webhook deliveries.
    Its functions share this process's cached settings and clients: a purge left queued by
    the last test must not rebuild them while a test points them at an in-process DynamoDB."""
    with ExitStack() as held:
        for running in _running:
            held.enter_context(running.stripe_webhooks_paused())
            for poller in running.pollers:
                held.enter_context(poller.held())
            if running.sweeper is not None:
                held.enter_context(running.sweeper.held())
        yield


@pytest.fixture
def delivery(request: pytest.FixtureRequest) -> str:
    """How the emulator delivers webhooks to this test (see the module's docstring)."""
    return str(getattr(request, "param", ORDERED))


# Realistic delivery in the suite: what no test settles is delivered after this quiet time.
# STRIPE_WEBHOOK_QUIET_S=0 explores further: deliveries then also start between the Stripe
# calls of one billing request, racing its own writes (not reproducible from the seed).
SUITE_QUIET_S = float(os.environ.get("STRIPE_WEBHOOK_QUIET_S") or 0.5)


@pytest.fixture
def clean_stack(stack: LocalStack, delivery: str, monkeypatch: pytest.MonkeyPatch) -> LocalStack:
    """The stack with an empty table, no queued uses and a fresh Stripe emulator that
    delivers webhooks as `delivery` says."""
    if delivery == REALISTIC:
        settle_the_browser(stack, monkeypatch)
    return cleaned(stack, delivery, _SEED)


def cleaned(stack: LocalStack, delivery: str, seed: int) -> LocalStack:
    """Empties the stack (table, queues, emulator) and sets its webhook delivery."""
    stack.settle()
    table = dynamodb_client(stack)
    name = stack.config.table_name
    scan = table.get_paginator("scan").paginate(TableName=name, ProjectionExpression="PK, SK")
    keys = [{"PK": item["PK"], "SK": item["SK"]} for page in scan for item in page["Items"]]
    # 25 deletes a request (BatchWriteItem's most): one round trip per item made the
    # clean-up of every test cost as much as a short test.
    for start in range(0, len(keys), 25):
        batch = [{"DeleteRequest": {"Key": key}} for key in keys[start : start + 25]]
        left: dict[str, Any] = {name: batch}
        while left:
            left = table.batch_write_item(RequestItems=left).get("UnprocessedItems") or {}
    assert stack.emulator is not None
    stack.config.webhook_quiet_s = SUITE_QUIET_S
    stack.set_webhook_delivery(delivery, seed)
    stack.emulator.reset()
    return stack


# The billing invariants (I1-I6) checked after every test of the local stack: on unless set
# to 0 (to look at a failing test's own state without the audit's word on it).
AUDIT_AFTER_TESTS = "BILLING_AUDIT_AFTER_TESTS"


@pytest.fixture(autouse=True)
def billing_invariants(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test that used the local stack (`clean_stack`, so also `api`), the billing
    audit runs over every customer, in this process, and any drift fails the test, naming
    the invariant and the customer. BILLING_AUDIT_AFTER_TESTS=0 switches it off."""
    on = os.environ.get(AUDIT_AFTER_TESTS, "1") == "1"
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


# Every 2xx answer of an Autumn route the stack sends, whichever client asked (httpx, the
# Python SDK, autumn-js through node), is checked against Autumn's published OpenAPI document
# and the Python SDK's model for it (tests/compat/autumn_openapi/); a mismatch fails the test
# that received it. AUTUMN_ANSWERS_REPORT=<file> appends the mismatches to a file instead.
_answer_checks = AnswerChecks()
ANSWERS_REPORT = "AUTUMN_ANSWERS_REPORT"


@pytest.fixture(autouse=True)
def autumn_answers(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fails a test whose stack answered a 2xx that Autumn's document or SDK refuses."""
    if "clean_stack" not in request.fixturenames:
        yield
        return
    _answer_checks.take()  # what a previous test left is that test's
    yield
    found = _answer_checks.take()
    if not found:
        return
    report = os.environ.get(ANSWERS_REPORT)
    if report:
        with open(report, "a") as out:
            out.writelines(f"{request.node.nodeid}: {line}\n" for line in found)
        return
    outcome = getattr(request.node, "call_outcome", None)
    if outcome is None or not outcome.failed:
        unique = list(dict.fromkeys(found))
        pytest.fail(
            "answers that Autumn's OpenAPI document or autumn-sdk's models refuse:\n"
            + "\n".join(f"  {line}" for line in unique[:40]),
            pytrace=False,
        )


def audit_drifts(stack: LocalStack) -> list[Any]:
    """Every drift the billing audit finds on the stack now (one pass, in this process; the
    Stripe listing skipped while the emulator holds no subscription)."""
    from billing.services.billing.audit import audit_customers
    from billing.stripe_api import get_gateway

    stack.settle()  # every webhook delivered and every queue drained
    list_stripe = stack.emulator is None or stack.emulator.count("subscription") > 0
    return list(audit_customers(get_gateway, page_size=100, list_stripe=list_stripe).drifts)


@pytest.fixture
def api(clean_stack: LocalStack) -> Iterator[httpx.Client]:
    """An HTTP client for the billing API, authenticated with the suite's secret key."""
    hooks = settling_hooks(clean_stack)
    with httpx.Client(
        base_url=clean_stack.api_url,
        headers={"Authorization": f"Bearer {SECRET_KEY}"},
        timeout=120,
        event_hooks=hooks,
    ) as client:
        yield client


def settle_the_browser(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests post the emulator's hosted pages (Checkout, portal, invoice) with httpx's
    module functions, as a browser would: each post is a step of the test too, so with
    realistic delivery it settles the stack before and after, as the `api` client does.
    (The billing layer never uses httpx, so only the tests' own calls are wrapped.)"""
    for name in ("get", "post"):
        original = getattr(httpx, name)

        def settling(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            stack.settle(queues=False)
            try:
                return _original(*args, **kwargs)
            finally:
                stack.settle()

        monkeypatch.setattr(httpx, name, settling)


def settling_hooks(stack: LocalStack) -> dict[str, list[Any]]:
    """httpx event hooks that settle a realistic stack before each request (what the test
    did to Stripe reaches the billing layer first) and after each answer (the test sees
    the converged state); none for ordered delivery."""
    if not stack.realistic:
        return {}

    def deliver(_: object) -> None:
        # Every other step of a test settles after itself: only Stripe's deliveries can
        # be left (cheap to check), not queued messages (a round trip per queue).
        stack.settle(queues=False)

    def settle(_: object) -> None:
        stack.settle()

    return {"request": [deliver], "response": [settle]}


def dynamodb_client(stack: LocalStack) -> Any:
    return boto3.client("dynamodb", endpoint_url=stack.dynamodb_url, region_name="us-east-1")


def table_items(stack: LocalStack) -> list[dict[str, Any]]:
    client = dynamodb_client(stack)
    items: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(TableName=stack.config.table_name):
        items.extend(page["Items"])
    return items


def stripe_client(stack: LocalStack) -> Any:
    """The real SDK against the stack's emulator; with realistic delivery it settles the
    stack before each request and after each answer, as the `api` client does."""
    import stripe

    assert stack.stripe_url is not None
    http_client = _settling_http_client(stack) if stack.realistic else None
    return stripe.StripeClient(
        "sk_test_suite", base_addresses={"api": stack.stripe_url}, http_client=http_client
    )


def _settling_http_client(stack: LocalStack) -> Any:
    import stripe

    base: Any = type(stripe.new_default_http_client())

    class Settling(base):  # type: ignore[misc, valid-type]
        def request_with_retries(self, *args: Any, **kwargs: Any) -> Any:
            stack.settle(queues=False)
            try:
                return super().request_with_retries(*args, **kwargs)
            finally:
                stack.settle()

    return Settling()


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
