"""The fault matrix (README, "Fault matrix"), billing side: DynamoDB faults at every write of
billing.attach, Stripe errors (5xx, 429) and lost answers (timeouts) at every Stripe call it
makes, DynamoDB faults at every step of Stripe's webhook, and DynamoDB and SQS faults at every
step of the delivery of the application's webhooks.

As in test_fault_matrix.py, each run ends where the faultless run ended: the same plans and
balances, as many items of each kind in the table, and as many customers, subscriptions,
invoices, payment intents and Checkout sessions in Stripe (so never a second charge).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from local.stack import LocalStack
from local.stripe_emulator.server import StripeEmulator
from tests.conftest import stripe_client
from tests.emulator.receiver import WebhookReceiver
from tests.integration.test_attach_api import pay_on_checkout_page
from tests.reliability.aws_faults import Kind, fault
from tests.reliability.fault_matrix import (  # noqa: F401 (a fixture)
    MOST_STEPS,
    Matrix,
    Scenario,
    customer_state,
    spread,
    steady_catalog_cache,
)
from tests.reliability.stripe_faults import answers_lost

_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}
# billing.attach of a paid plan with a card on file: its Stripe calls, in order (the test of
# the faultless run checks that each is made).
ATTACH_STRIPE_STEPS = [
    ("GET", "/v1/customers/"),  # the customer's default card
    ("POST", "/v1/subscriptions"),  # the subscription, its first invoice open
    ("POST", "/v1/invoices/"),  # paying that invoice
    ("GET", "/v1/invoices/"),  # reading the paid invoice back
    ("GET", "/v1/subscriptions/"),  # converging on the subscription
]
CARD = "4242 4242 4242 4242"


@pytest.fixture
def catalog(api: httpx.Client) -> httpx.Client:
    feature = {"feature_id": "messages", "name": "Messages", "type": "metered"}
    assert api.post("/v1/features.create", json=feature).status_code == 200
    pro = {
        "plan_id": "pro",
        "name": "Pro",
        "price": {"amount": 20, "interval": "month"},
        "items": [{"feature_id": "messages", "included": 1000}],
    }
    assert api.post("/v1/plans.create", json=pro).status_code == 200
    return api


def attach_with_card(api: httpx.Client, stack: LocalStack) -> Scenario:
    """Pro attached to a customer with a card on file: paid at once. Stripe's webhooks are
    held back during the attach, so the steps are the attach's own."""
    stripe = stripe_client(stack)

    def prepare(subject: str) -> None:
        linked = api.post(
            "/v1/customers.get_or_create",
            json={"customer_id": subject, "create_in_stripe": True},
        )
        assert linked.status_code == 200, linked.text
        stripe_id = linked.json()["stripe_id"]
        card = stripe.v1.payment_methods.attach("pm_card_visa", {"customer": stripe_id})
        stripe.v1.customers.update(
            stripe_id, {"invoice_settings": {"default_payment_method": card.id}}
        )

    def act(subject: str) -> httpx.Response:
        with stack.stripe_webhooks_paused():
            return api.post(
                "/v1/billing.attach",
                json={"customer_id": subject, "plan_id": "pro"},
                headers={"Idempotency-Key": f"attach-{subject}"},
            )

    return Scenario(prepare, act, lambda subject: customer_state(api, subject), stack.settle)


def attach_matrix(api: httpx.Client, stack: LocalStack) -> Matrix:
    # The attach's Stripe webhooks are held back (its own steps are faulted), so the cache of
    # what Stripe said of the subscription (STRIPE_OBJ) is not filled when the attach leaves
    # its converge to them (a fault after the purchase is paid): not billing state.
    # A billing lock whose release failed (the attach is done) stays until its lease ends.
    uncounted = ("STRIPE_OBJ/", "BILLING_LOCK/")
    return Matrix(stack, attach_with_card(api, stack), uncounted=uncounted, most=MOST_STEPS)


@pytest.mark.parametrize(
    ("family", "kinds", "wanted"),
    [
        ("throttle", ["throughput", "throttling"], _WRITES),
        ("conflict", ["conflict"], {"TransactWriteItems"}),
        ("timeout", ["timeout"], _WRITES),
    ],
)
def test_attach_at_every_write(
    catalog: httpx.Client,
    clean_stack: LocalStack,
    family: str,
    kinds: list[Kind],
    wanted: set[str],
) -> None:
    """Every write: a fault at a read changes nothing, and is answered as at a write."""
    matrix = attach_matrix(catalog, clean_stack)
    matrix.each_step("dynamodb", kinds, lambda step: step.operation in wanted)


@dataclass
class StripeFault:
    fired: int = 0


@contextmanager
def stripe_fails(
    emulator: StripeEmulator, method: str, path: str, status: int, times: int
) -> Iterator[StripeFault]:
    """The emulator answers `status` to the next `times` matching requests."""
    found = StripeFault()
    before = emulator.requests_made(method, path)
    emulator.fail_next(method, path, status=status, times=times)
    yield found
    found.fired = emulator.requests_made(method, path) - before


@pytest.mark.parametrize("fault_kind", ["refused", "timeout"])
def test_attach_at_every_stripe_call(
    catalog: httpx.Client, clean_stack: LocalStack, fault_kind: str
) -> None:
    """Refused, taking turns over the calls: a 503 that the SDK's two retries meet too (the
    emulator fails before doing anything), or Stripe's 429 rate limit (not retried by the
    SDK); timeout: Stripe did it, the answer never came, in all three tries. A retry with
    the same key then completes, once."""
    emulator = clean_stack.emulator
    assert emulator is not None
    matrix = attach_matrix(catalog, clean_stack)
    made = {step: emulator.requests_made(*step) for step in ATTACH_STRIPE_STEPS}
    _, state, table, stripe = matrix.steps("dynamodb")
    for step in ATTACH_STRIPE_STEPS:
        assert emulator.requests_made(*step) > made[step], f"attach no longer calls {step}"

    def armed(at: int, method: str, path: str) -> Callable[[], Any]:
        if fault_kind == "timeout":
            return lambda: answers_lost(method, path)
        status, times = (503, 3) if at % 2 == 0 else (429, 1)
        return lambda: stripe_fails(emulator, method, path, status, times)

    for at, (method, path) in enumerate(ATTACH_STRIPE_STEPS):
        run = armed(at, method, path)
        outcome = matrix.run(f"s{at}-{fault_kind}", run, (state, table, stripe))
        assert outcome.status in (200, 502), f"{method} {path}: {outcome}"


def checkout_paid(api: httpx.Client, stack: LocalStack) -> Scenario:
    """Pro bought on the Checkout page: granted by Stripe's webhooks alone. The caller is
    Stripe: what it saw first is the first answer of the webhook route during the payment;
    its retry is its own (the emulator retries a failed delivery at once, a few times)."""
    urls: dict[str, str] = {}
    answers: list[tuple[int, bytes]] = []
    assert stack.http_api is not None

    def webhook_answers(method: str, path: str, status: int, body: bytes) -> None:
        if path == "/webhooks/stripe":
            answers.append((status, body))

    # One such observer on the session's stack at a time (an earlier test's is dropped).
    observers = stack.http_api.observers
    observers[:] = [o for o in observers if getattr(o, "__name__", "") != "webhook_answers"]
    observers.append(webhook_answers)

    def prepare(subject: str) -> None:
        assert api.post("/v1/customers.get_or_create", json={"customer_id": subject}).is_success
        answer = api.post(
            "/v1/billing.attach",
            json={"customer_id": subject, "plan_id": "pro", "success_url": "https://x.test/ok"},
        )
        assert answer.status_code == 200, answer.text
        urls[subject] = answer.json()["payment_url"]

    def act(subject: str) -> httpx.Response:
        answers.clear()
        paid = pay_on_checkout_page(urls[subject], CARD)
        assert paid.status_code == 303, paid.text
        failed = [(status, body) for status, body in answers if not 200 <= status < 300]
        status, body = failed[0] if failed else (200, b"{}")
        return httpx.Response(status, content=body)

    def retried(subject: str) -> httpx.Response:
        emulator = stack.emulator
        assert emulator is not None
        last: dict[str, bool] = {}
        for attempt in emulator.deliveries():
            last[attempt["event_id"]] = last.get(attempt["event_id"], False) or bool(
                attempt["succeeded"]
            )
        undelivered = [event for event, succeeded in last.items() if not succeeded]
        return httpx.Response(500 if undelivered else 200, json={"undelivered": undelivered})

    return Scenario(
        prepare, act, lambda subject: customer_state(api, subject), stack.settle, retried
    )


@pytest.mark.parametrize(
    ("family", "kinds", "wanted"),
    [
        ("throttle", ["throughput", "throttling"], None),
        ("conflict", ["conflict"], {"TransactWriteItems"}),
        ("timeout", ["timeout"], _WRITES),
    ],
)
def test_stripe_webhook_at_every_step(
    catalog: httpx.Client,
    clean_stack: LocalStack,
    family: str,
    kinds: list[Kind],
    wanted: set[str] | None,
) -> None:
    """A fault while the webhook route handles Checkout's events: Stripe gets a retryable
    5xx (or the route absorbs it), retries, and the plan is granted once."""
    matrix = Matrix(clean_stack, checkout_paid(catalog, clean_stack), most=MOST_STEPS)
    matrix.each_step("dynamodb", kinds, lambda step: wanted is None or step.operation in wanted)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.stop()


def test_application_webhook_delivery_at_every_step(
    catalog: httpx.Client, clean_stack: LocalStack, receiver: WebhookReceiver
) -> None:
    """Pro attached on a card (customer.products.updated to the application): a DynamoDB
    fault at any step of the delivery worker fails its message, SQS hands it over again, and
    the application gets the event, every copy under the one webhook id. (The worker sends
    to SQS only after a failed post; a failed send of the event itself is the outbox's,
    `test_get_or_create_at_every_step`.)"""
    kinds: list[Kind] = ["throughput", "throttling", "timeout"]
    created = catalog.post("/v1/webhooks.create", json={"id": "app", "url": receiver.url})
    assert created.status_code == 200, created.text
    scenario = attach_with_card(catalog, clean_stack)
    state = scenario.state

    def delivered(subject: str) -> Any:
        ids = {
            received.headers.get("webhook-id")
            for received in receiver.received
            if received.event.get("data", {}).get("customer", {}).get("id") == subject
        }
        return state(subject), len(ids)

    scenario.state = delivered
    matrix = Matrix(clean_stack, scenario, uncounted=("STRIPE_OBJ/",))
    steps, expected, table, stripe = matrix.steps("dynamodb", "sqs")
    assert expected[1] >= 1, "the faultless run delivered the event"
    # The worker's steps: the calls made on a queue poller's thread (local/queues.py).
    worker = [s for s in steps if s.service == "dynamodb" and s.thread.endswith("(_run)")]
    assert worker, [(str(step), step.thread) for step in steps]
    for at, step in enumerate(spread(worker, MOST_STEPS)):
        kind = kinds[at % len(kinds)]
        matrix.run(
            f"s{at}-{kind}",
            lambda step=step, kind=kind: fault(step, kind),  # type: ignore[misc]
            (expected, table, stripe),
            step,
        )
