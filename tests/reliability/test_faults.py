"""When Stripe fails: a clear 502, nothing half-done that a retry cannot finish, no charge
of a key for a failure on our side, and no secret in any answer."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import httpx
import pytest
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from botocore.awsrequest import AWSResponse

from local.stack import EMULATOR_STRIPE_KEY, LocalStack
from tests.conftest import SECRET_KEY, table_items


def test_a_stripe_outage_is_a_502_and_the_same_idempotent_retry_then_succeeds(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    assert clean_stack.emulator is not None
    # The stripe SDK retries twice itself; make all three attempts fail.
    clean_stack.emulator.fail_next("POST", "/v1/customers", status=500, times=3)
    body = {"customer_id": "user_1", "email": "a@example.com", "create_in_stripe": True}
    headers = {"Idempotency-Key": "retry-me"}

    failed = api.post("/v1/customers.get_or_create", json=body, headers=headers)
    retried = api.post("/v1/customers.get_or_create", json=body, headers=headers)

    assert failed.status_code == 502
    assert failed.json()["code"] == "stripe_error"
    assert EMULATOR_STRIPE_KEY not in failed.text
    assert retried.status_code == 200, "a 5xx does not consume the Idempotency-Key"
    assert retried.headers.get("idempotent-replayed") is None
    assert retried.json()["stripe_id"] is not None
    assert clean_stack.emulator.count("customer") == 1


def test_a_4xx_answer_is_replayed_to_a_retry_with_the_same_key(api: httpx.Client) -> None:
    headers = {"Idempotency-Key": "bad-request"}
    body = {"customer_id": None, "name": "no email"}

    first = api.post("/v1/customers.get_or_create", json=body, headers=headers)
    second = api.post("/v1/customers.get_or_create", json=body, headers=headers)

    assert first.status_code == second.status_code == 400
    assert second.text == first.text
    assert second.headers["idempotent-replayed"] == "true"


def test_a_key_reused_with_another_body_is_a_409_that_changes_nothing(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    headers = {"Idempotency-Key": "one-key"}
    api.post("/v1/customers.get_or_create", json={"customer_id": "user_1"}, headers=headers)
    before = table_items(clean_stack)

    reused = api.post(
        "/v1/customers.get_or_create", json={"customer_id": "user_2"}, headers=headers
    )

    assert reused.status_code == 409
    assert reused.json()["code"] == "duplicate_idempotency_key"
    assert table_items(clean_stack) == before


def test_a_stripe_failure_after_the_customer_was_stored_is_finished_by_a_plain_retry(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    assert clean_stack.emulator is not None
    clean_stack.emulator.fail_next("POST", "/v1/customers", status=503, times=3)
    body = {"customer_id": "user_1", "create_in_stripe": True}

    assert api.post("/v1/customers.get_or_create", json=body).status_code == 502
    retried = api.post("/v1/customers.get_or_create", json=body).json()

    assert retried["stripe_id"] is not None
    assert clean_stack.emulator.count("customer") == 1


def throttled(**_: object) -> tuple[AWSResponse, dict[str, object]]:
    """A DynamoDB answer of 'slow down', returned before the call leaves botocore."""
    error = {"Code": "ProvisionedThroughputExceededException", "Message": "Rate exceeded"}
    return AWSResponse("http://dynamodb", 400, {}, None), {
        "Error": error,
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }


@pytest.mark.parametrize("operation", ["Query", "PutItem"])
def test_dynamodb_throttling_is_a_retryable_503_not_a_500(
    api: httpx.Client, operation: str
) -> None:
    from billing.store.table import client

    events = client().meta.events
    events.register(f"before-call.dynamodb.{operation}", throttled, unique_id="throttle")
    try:
        response = api.post("/v1/customers.get_or_create", json={"customer_id": "user_1"})
    finally:
        events.unregister(f"before-call.dynamodb.{operation}", unique_id="throttle")

    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable"
    assert "Rate exceeded" not in response.text
    recovered = api.post("/v1/customers.get_or_create", json={"customer_id": "user_1"})
    assert recovered.status_code == 200


@pytest.fixture
def billing_logs() -> Iterator[io.StringIO]:
    """What the functions log, formatted as Powertools writes it to CloudWatch."""
    from billing.api import errors

    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    handler.setFormatter(LambdaPowertoolsFormatter())
    # The error mapper's own logger, and the service logger the handlers log through.
    loggers = {errors.logger._logger, logging.getLogger("billing")}
    for logger in loggers:
        logger.addHandler(handler)
    yield captured
    for logger in loggers:
        logger.removeHandler(handler)


def test_no_secret_reaches_the_logs(
    api: httpx.Client, clean_stack: LocalStack, billing_logs: io.StringIO
) -> None:
    assert clean_stack.emulator is not None
    clean_stack.emulator.fail_next("POST", "/v1/customers", status=500, times=3)
    api.post("/v1/customers.get_or_create", json={"customer_id": "u", "create_in_stripe": True})
    httpx.post(
        f"{clean_stack.api_url}/v1/customers.get",
        json={"customer_id": "u"},
        headers={"Authorization": "Bearer am_sk_almost_right"},
    )

    logs = billing_logs.getvalue()

    assert "request failed" in logs, "the failure itself is logged"
    for secret in (SECRET_KEY, EMULATOR_STRIPE_KEY, "am_sk_almost_right", "Bearer"):
        assert secret not in logs
