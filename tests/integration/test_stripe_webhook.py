"""POST /webhooks/stripe through the local HTTP API: Stripe's signed deliveries, no Bearer
key; each event takes effect once however often, and however concurrently, it arrives."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from billing.domain.errors import StoreUnavailable
from billing.services.stripe_events import handlers
from billing.services.stripe_events.command import StripeEventCommand
from billing.store import table
from local.stack import LocalStack
from tests.conftest import dynamodb_client, table_items
from tests.stripe_events import signed, stripe_event

pytestmark = pytest.mark.slow

EFFECT = "integration_test.effect"
EFFECTS_PK = "TEST#webhook-effects"


class CountingHandler:
    """Counts its runs per event in the table (an effect another process could see), slowly
    enough for concurrent deliveries to overlap; fails while told to."""

    def __init__(self) -> None:
        self.failures_left = 0

    def __call__(self, event: StripeEventCommand, customer: Any, stripe: Any) -> None:
        time.sleep(0.3)
        if self.failures_left:
            self.failures_left -= 1
            raise StoreUnavailable
        table.client().update_item(
            TableName=table.table_name(),
            Key={"PK": {"S": EFFECTS_PK}, "SK": {"S": event.event_id}},
            UpdateExpression="ADD runs :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch) -> CountingHandler:
    counting = CountingHandler()
    monkeypatch.setitem(handlers.HANDLERS, EFFECT, counting)
    return counting


@pytest.fixture
def stripe(clean_stack: LocalStack) -> Iterator[httpx.Client]:
    """Stripe, as far as the webhook route can tell: no Authorization header."""
    with httpx.Client(base_url=clean_stack.api_url, timeout=120) as client:
        yield client


def runs(stack: LocalStack, event_id: str) -> int:
    found = dynamodb_client(stack).get_item(
        TableName=stack.config.table_name,
        Key={"PK": {"S": EFFECTS_PK}, "SK": {"S": event_id}},
        ConsistentRead=True,
    )
    return int(found.get("Item", {}).get("runs", {}).get("N", 0))


def post(stripe: httpx.Client, payload: bytes, **signing: Any) -> httpx.Response:
    return stripe.post("/webhooks/stripe", content=payload, headers=signed(payload, **signing))


def test_a_signed_event_is_handled_once_and_its_redelivery_answers_200_doing_nothing(
    stripe, handler, clean_stack
):
    payload = stripe_event(event_id="evt_once", event_type=EFFECT)

    first = post(stripe, payload)
    again = post(stripe, payload)

    assert (first.status_code, first.json()) == (200, {"received": True, "outcome": "handled"})
    assert (again.status_code, again.json()) == (200, {"received": True, "outcome": "duplicate"})
    assert runs(clean_stack, "evt_once") == 1


def test_an_event_of_a_type_we_do_not_handle_is_acknowledged_and_recorded(stripe, clean_stack):
    answer = post(stripe, stripe_event(event_id="evt_ignored", event_type="charge.refunded"))

    assert (answer.status_code, answer.json()["outcome"]) == (200, "ignored")
    (record,) = table_items(clean_stack)
    assert record["PK"] == {"S": "STRIPE_EVT#evt_ignored"}
    assert record["status"] == {"S": "COMPLETED"}


@pytest.mark.parametrize(
    "signing",
    [
        pytest.param({"secret": "whsec_forged"}, id="forged"),
        pytest.param({"at": int(time.time()) - 301}, id="stale"),
        pytest.param(None, id="missing"),
    ],
)
def test_a_bad_stale_or_missing_signature_is_400_and_changes_nothing(
    stripe, handler, clean_stack, signing: dict[str, Any] | None
):
    payload = stripe_event(event_id="evt_forged", event_type=EFFECT)
    headers = {"Content-Type": "application/json"}
    if signing is not None:
        headers = signed(payload, **signing)

    answer = stripe.post("/webhooks/stripe", content=payload, headers=headers)

    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_inputs"
    assert answer.json()["details"][0]["field"] == "Stripe-Signature"
    assert table_items(clean_stack) == []


def test_a_signed_body_that_is_not_a_stripe_event_is_400(stripe, clean_stack):
    answer = post(stripe, b'{"hello": "world"}')

    assert (answer.status_code, answer.json()["code"]) == (400, "invalid_inputs")
    assert table_items(clean_stack) == []


def test_a_body_handed_over_base64_encoded_is_verified_on_its_bytes(stripe, handler, clean_stack):
    payload = stripe_event(event_id="evt_binary", event_type=EFFECT)
    headers = {**signed(payload), "Content-Type": "application/octet-stream"}

    answer = stripe.post("/webhooks/stripe", content=payload, headers=headers)

    assert (answer.status_code, answer.json()["outcome"]) == (200, "handled")
    assert runs(clean_stack, "evt_binary") == 1


def test_concurrent_deliveries_of_one_event_apply_it_once_and_none_acknowledges_early(
    stripe, handler, clean_stack
):
    payload = stripe_event(event_id="evt_storm", event_type=EFFECT)

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: post(stripe, payload), range(6)))
    settled = post(stripe, payload)

    statuses = sorted(answer.status_code for answer in answers)
    outcomes = [a.json().get("outcome") for a in answers if a.status_code == 200]
    assert set(statuses) <= {200, 409}
    assert outcomes.count("handled") == 1
    assert all(
        a.json()["code"] == "stripe_event_in_progress" for a in answers if a.status_code == 409
    )
    assert runs(clean_stack, "evt_storm") == 1
    assert (settled.status_code, settled.json()["outcome"]) == (200, "duplicate")


def test_a_failed_handler_answers_a_retryable_error_and_stripes_retry_applies_it(
    stripe, handler, clean_stack
):
    handler.failures_left = 1
    payload = stripe_event(event_id="evt_retry", event_type=EFFECT)

    failed = post(stripe, payload)
    retried = post(stripe, payload)

    assert failed.status_code == 503
    assert runs(clean_stack, "evt_retry") == 1
    assert (retried.status_code, retried.json()["outcome"]) == (200, "handled")


def test_a_bearer_key_is_neither_needed_nor_checked(stripe, clean_stack):
    payload = stripe_event(event_id="evt_keyless")
    headers = {**signed(payload), "Authorization": "Bearer not-a-key"}

    answer = stripe.post("/webhooks/stripe", content=payload, headers=headers)

    assert answer.status_code == 200
