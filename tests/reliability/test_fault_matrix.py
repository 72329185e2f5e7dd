"""The fault matrix (README, "Fault matrix"): DynamoDB and SQS faults at every step of
customers.get_or_create, balances.check and balances.track (answered and queued).

A step is one AWS call the operation makes (learnt from a run without a fault). At each step
the caller gets a success or a retryable error with the API's error body, a retry succeeds,
and nothing is half-written, lost or doubled: the customer ends as the faultless run ended
(balances, plans, purchases), with as many items of each kind in the table (usage events,
grants, idempotency records...). The billing audit runs after each test besides.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from local.stack import LocalStack
from tests.emulator.receiver import WebhookReceiver
from tests.reliability.aws_faults import Kind, Service, Step
from tests.reliability.fault_matrix import (  # noqa: F401 (a fixture)
    Matrix,
    Scenario,
    customer_state,
    steady_catalog_cache,
)

_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}


def _any(_: Step) -> bool:
    return True


def _transaction(step: Step) -> bool:
    return step.operation == "TransactWriteItems"


def _write(step: Step) -> bool:
    return step.operation in _WRITES


# A family of faults: the service, its kinds, the steps it is tried at, and whether every
# kind meets every step (else they take turns). Throttles anywhere; a transaction conflict
# where a transaction is written; a timeout (the write applied, its answer lost) where
# anything is written (a read that times out is answered as a throttle is); SQS faults at
# every message sent.
FAMILIES: dict[str, tuple[Service, list[Kind], Callable[[Step], bool], bool]] = {
    "throttle": ("dynamodb", ["throughput", "throttling"], _any, False),
    "conflict": ("dynamodb", ["conflict"], _transaction, False),
    "timeout": ("dynamodb", ["timeout"], _write, False),
    "sqs": ("sqs", ["throttling", "unavailable", "timeout"], _any, True),
}


def each_step(matrix: Matrix, family: str) -> None:
    service, kinds, wanted, every_kind = FAMILIES[family]
    matrix.each_step(service, kinds, wanted, every_kind)


@pytest.fixture
def catalog(api: httpx.Client) -> httpx.Client:
    """A metered feature and a free plan every new customer gets."""
    feature = {"feature_id": "messages", "name": "Messages", "type": "metered"}
    assert api.post("/v1/features.create", json=feature).status_code == 200
    free = {
        "plan_id": "free",
        "name": "Free",
        "auto_enable": True,
        "items": [{"feature_id": "messages", "included": 100}],
    }
    assert api.post("/v1/plans.create", json=free).status_code == 200
    return api


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.stop()


def new_customer(
    api: httpx.Client, stack: LocalStack, receiver: WebhookReceiver | None = None
) -> Scenario:
    """With a `receiver`, the application's endpoint: what it got for the customer (how many
    distinct events) is part of the customer's state."""

    def state(subject: str) -> Any:
        if receiver is None:
            return customer_state(api, subject)
        told = {
            received.headers.get("webhook-id")
            for received in receiver.received
            if received.event.get("data", {}).get("customer", {}).get("id") == subject
        }
        return customer_state(api, subject), len(told)

    return Scenario(
        prepare=lambda subject: None,
        act=lambda subject: api.post(
            "/v1/customers.get_or_create",
            json={"customer_id": subject, "email": f"{subject}@example.com"},
        ),
        state=state,
        after=stack.settle,
    )


def on_a_customer(
    api: httpx.Client,
    stack: LocalStack,
    route: str,
    body: dict[str, object],
    body_key: bool = False,
) -> Scenario:
    """`route` called for an existing customer with an Idempotency-Key (a retry sends the
    same key, as the README asks of callers of writing routes); with `body_key`, track's
    body key too, as the SDKs send it."""

    def prepare(subject: str) -> None:
        made = api.post("/v1/customers.get_or_create", json={"customer_id": subject})
        assert made.status_code == 200, made.text

    return Scenario(
        prepare=prepare,
        act=lambda subject: api.post(
            route,
            json={"customer_id": subject, **body}
            | ({"idempotency_key": f"body-{subject}"} if body_key else {}),
            headers={"Idempotency-Key": f"{route}-{subject}"},
        ),
        state=lambda subject: customer_state(api, subject),
        after=stack.settle,
    )


@pytest.mark.parametrize("family", ["throttle", "conflict", "timeout", "sqs"])
def test_get_or_create_at_every_step(
    catalog: httpx.Client, clean_stack: LocalStack, receiver: WebhookReceiver, family: str
) -> None:
    """The application is told of the new customer's default plan once, whatever the fault:
    an event SQS refused is sent again from the outbox (it was lost before)."""
    created = catalog.post("/v1/webhooks.create", json={"id": "app", "url": receiver.url})
    assert created.status_code == 200, created.text
    scenario = new_customer(catalog, clean_stack, receiver)
    each_step(Matrix(clean_stack, scenario), family)
    # The faultless run told it once; each faulty run was held to the same.
    assert scenario.state("base")[1] == 1


@pytest.mark.parametrize("family", ["throttle", "conflict", "timeout"])
def test_check_at_every_step(catalog: httpx.Client, clean_stack: LocalStack, family: str) -> None:
    """With `send_event` (a check that deducts); a plain check, which only reads, meets the
    throttles."""
    body: dict[str, object] = {"feature_id": "messages", "send_event": True, "required_balance": 2}
    each_step(
        Matrix(clean_stack, on_a_customer(catalog, clean_stack, "/v1/balances.check", body)), family
    )
    if family == "throttle":
        plain = on_a_customer(
            catalog, clean_stack, "/v1/balances.check", {"feature_id": "messages"}
        )
        each_step(Matrix(clean_stack, plain), family)


@pytest.mark.parametrize("family", ["throttle", "conflict", "timeout"])
def test_track_at_every_step(catalog: httpx.Client, clean_stack: LocalStack, family: str) -> None:
    body: dict[str, object] = {"feature_id": "messages", "value": 3}
    each_step(
        Matrix(clean_stack, on_a_customer(catalog, clean_stack, "/v1/balances.track", body)), family
    )


@pytest.mark.parametrize("family", ["throttle", "conflict", "timeout", "sqs"])
def test_queued_track_at_every_step(
    catalog: httpx.Client, clean_stack: LocalStack, family: str
) -> None:
    """The API's queueing and the usage worker's applying: a fault in the worker fails its
    message, which SQS hands over again (the worker's retry)."""
    body: dict[str, object] = {"feature_id": "messages", "value": 3, "async": True}
    queued = on_a_customer(catalog, clean_stack, "/v1/balances.track", body, body_key=True)
    each_step(Matrix(clean_stack, queued), family)
