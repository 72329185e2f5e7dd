"""Every function outlasts the worst case of the calls it makes, so a DynamoDB or Stripe that
stops answering is answered by our code (a retryable 503 or 502 with the API's error body),
never cut off by Lambda's timeout (API Gateway's bare 503, a queue message half handled).

Worst cases, read from the settings the clients are built with: botocore's tries of one
DynamoDB or SQS call, each connecting and reading for as long as allowed, with standard mode's
backoff between them at its longest (a random share of 1, 2, ... s); and the stripe SDK's tries
of one Stripe call, each waiting the whole timeout, with the SDK's longest backoff."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from billing import config
from billing.stripe_api import call
from local.template import load_template

STRIPE_SECRET = {"AWSSecretsManagerGetSecretValuePolicy": {"SecretArn": {"Ref": "StripeSecret"}}}


def aws_call_worst_s() -> float:
    attempts = config.AWS_RETRIES["total_max_attempts"]
    each = config.AWS_CONNECT_TIMEOUT_S + config.AWS_READ_TIMEOUT_S
    backoff = sum(2 ** (retry - 1) for retry in range(1, attempts))
    return attempts * each + backoff


def stripe_call_worst_s() -> float:
    delays = (
        min(stripe.HTTPClient.INITIAL_DELAY * 2 ** (retry - 1), stripe.HTTPClient.MAX_DELAY)
        for retry in range(1, call.NETWORK_RETRIES + 1)
    )
    return (call.NETWORK_RETRIES + 1) * call.TIMEOUT_S + sum(delays)


@pytest.fixture(scope="module")
def timeouts() -> dict[str, tuple[float, bool]]:
    """Each function's timeout, and whether it may call Stripe (it may read Stripe's key)."""
    template = load_template()
    default = template["Globals"]["Function"]["Timeout"]
    return {
        name: (
            float(resource["Properties"].get("Timeout", default)),
            STRIPE_SECRET in resource["Properties"].get("Policies", []),
        )
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def test_the_worst_cases_are_what_the_readme_states() -> None:
    assert aws_call_worst_s() == 15
    assert stripe_call_worst_s() == 25.5


def test_every_function_outlasts_one_dynamodb_or_sqs_call_at_its_worst(
    timeouts: dict[str, tuple[float, bool]],
) -> None:
    short = {name: t for name, (t, _) in timeouts.items() if t <= aws_call_worst_s()}
    assert short == {}


def test_every_function_that_may_call_stripe_outlasts_one_stripe_call_at_its_worst(
    timeouts: dict[str, tuple[float, bool]],
) -> None:
    callers: dict[str, Any] = {name: t for name, (t, stripe_key) in timeouts.items() if stripe_key}
    short = {name: t for name, t in callers.items() if t <= stripe_call_worst_s()}

    assert {"BillingAttachFunction", "CustomersGetOrCreateFunction"} <= set(callers)
    assert short == {}


def test_an_http_function_answers_before_api_gateway_gives_up() -> None:
    # API Gateway's HTTP API waits 30 s at most for a function: a longer timeout there would
    # only hide a hung function behind API Gateway's own 503.
    template = load_template()
    default = template["Globals"]["Function"]["Timeout"]
    too_long = {
        name: resource["Properties"].get("Timeout", default)
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
        and any(e["Type"] == "HttpApi" for e in resource["Properties"]["Events"].values())
        and resource["Properties"].get("Timeout", default) > 30
    }
    assert too_long == {}
