"""billing.observability: the wrapper every handler uses (logging keys, metrics printed as
CloudWatch's embedded metric format when the invocation ends), the Stripe client's count and
timing, and the search that keeps secrets out of the suite's logs."""

from __future__ import annotations

import ast
import json
import socket
from types import SimpleNamespace
from typing import Any

import pytest
import stripe

from billing import observability
from billing.observability import correlation_id, count, logger, observed
from billing.stripe_api.observed import observed as observed_http_client
from local.stack import quiet_metrics
from local.template import ROOT
from tests.log_secrets import SEARCH, leaks

CONTEXT = SimpleNamespace(
    function_name="f",
    function_version="$LATEST",
    invoked_function_arn="arn:aws:lambda:local:000000000000:function:f",
    memory_limit_in_mb=128,
    aws_request_id="lambda-request-1",
    log_group_name="/aws/lambda/f",
    log_stream_name="s",
)


def http_event(**headers: str) -> dict[str, Any]:
    return {"headers": headers, "requestContext": {"requestId": "apigw-1"}}


def emitted(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if '"_aws"' in line]


def test_the_correlation_id_is_the_callers_plain_request_id_else_api_gateways_else_lambdas():
    assert correlation_id(http_event(**{"x-request-id": "trace-42:a.b_c"}), CONTEXT) == (
        "trace-42:a.b_c"
    )
    # Anything that could forge or flood a log line is not taken.
    assert correlation_id(http_event(**{"x-request-id": "a b"}), CONTEXT) == "apigw-1"
    assert correlation_id(http_event(**{"x-request-id": "x" * 129}), CONTEXT) == "apigw-1"
    assert correlation_id(http_event(), CONTEXT) == "apigw-1"
    assert correlation_id({"Records": []}, CONTEXT) == "lambda-request-1"


def test_an_observed_invocation_prints_its_metrics_once_by_dimensions_and_counts_a_5xx(
    capsys: pytest.CaptureFixture[str],
):
    @observed("things.do", traced=False)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        count("Checks", outcome="allowed")
        count("Checks", outcome="allowed")
        count("IdempotentReplays")
        return {"statusCode": 502, "body": "{}"}

    capsys.readouterr()
    handler(http_event(), CONTEXT)
    count("Checks", outcome="denied")  # outside an invocation: dropped

    lines = emitted(capsys.readouterr().out)
    by_metric = {name: line for line in lines for name in line if name[0].isupper()}
    assert len(lines) == 3  # one per set of dimensions
    assert by_metric["Checks"]["Checks"] == [1.0, 1.0]
    assert by_metric["Checks"]["outcome"] == "allowed"
    assert by_metric["IdempotentReplays"]["IdempotentReplays"] == [1.0]
    assert by_metric["ServerErrors"]["operation"] == "things.do"
    for line in lines:
        (directive,) = line["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "Billing"
        assert line["service"] == "billing"
        assert "service" in directive["Dimensions"][0]


def test_a_handler_that_raises_still_prints_what_it_recorded(capsys: pytest.CaptureFixture[str]):
    @observed("things.fail", traced=False)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        count("QueuedUses", 3, outcome="applied")
        raise RuntimeError("the table is gone")

    capsys.readouterr()
    with pytest.raises(RuntimeError):
        handler({"Records": []}, CONTEXT)

    (line,) = emitted(capsys.readouterr().out)
    assert line["QueuedUses"] == [3.0]


def test_every_log_line_of_an_invocation_carries_its_correlation_id_operation_and_customer():
    @observed("balances.check", traced=False)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        observability.about_customer("cus_42")
        logger.info("looked at it")
        return {"statusCode": 200}

    SEARCH.take()
    handler(http_event(**{"x-request-id": "trace-7"}), CONTEXT)
    _, lines = SEARCH.take()

    (line,) = [json.loads(line) for line in lines if "looked at it" in line]
    assert line["correlation_id"] == "trace-7"
    assert line["operation"] == "balances.check"
    assert line["customer_id"] == "cus_42"
    assert line["function_request_id"] == "lambda-request-1"


def test_a_stripe_call_that_gets_no_answer_is_counted_unreachable_and_timed(
    capsys: pytest.CaptureFixture[str],
):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    client = stripe.StripeClient(
        "sk_test_unreachable",
        base_addresses={"api": f"http://127.0.0.1:{port}"},
        max_network_retries=0,
        http_client=observed_http_client(stripe.new_default_http_client(timeout=2)),
    )

    @observed("billing.attach", traced=False)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        with pytest.raises(stripe.APIConnectionError):
            client.v1.customers.retrieve("cus_1")
        return {"statusCode": 200}

    capsys.readouterr()
    handler(http_event(), CONTEXT)

    (line,) = emitted(capsys.readouterr().out)
    assert line["outcome"] == "unreachable"
    assert line["StripeCalls"] == [1.0]
    (took,) = line["StripeCallLatency"]
    assert took >= 0
    units = {m["Name"]: m["Unit"] for m in line["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert units == {"StripeCalls": "Count", "StripeCallLatency": "Milliseconds"}


def test_the_log_search_finds_keys_secrets_and_card_numbers_and_no_ordinary_numbers():
    assert leaks("key sk_test_51abc and rk_live_x9") == [
        "a key or secret starting 'sk_test_'",
        "a key or secret starting 'rk_live_'",
    ]
    assert leaks('{"secret": "whsec_abc", "bearer": "am_sk_test_suite_key"}') == [
        "a key or secret starting 'whsec_'",
        "a key or secret starting 'am_sk_'",
    ]
    assert leaks("card 4242424242424242 and 5555555555554444") == ["a card number"] * 2
    ordinary = '{"timestamp": 1765065600123, "amount": "20.00", "id": "4242424242424241"}'
    assert leaks(ordinary) == []
    # A digit run inside a hex id is no card number, even when it passes the Luhn check.
    assert leaks('{"message_id": "msg_a4242424242424242f"}') == []
    assert leaks("pm_card_4242424242424242 and =5555555555554444;") == ["a card number"] * 2


def test_a_secret_logged_by_the_billing_layer_is_caught_by_the_suites_log_search():
    SEARCH.take()
    logger.warning("oops", extra={"header": "Bearer am_sk_test_suite_key"})
    found, _ = SEARCH.take()  # taken here, so this test itself does not fail for it

    assert found == [f"{logger.name}: a key or secret starting 'am_sk_'"]


def test_every_handler_is_wrapped_in_observed_and_only_check_and_track_go_untraced():
    untraced = set()
    for app in sorted((ROOT / "functions").glob("*/app.py")):
        tree = ast.parse(app.read_text())
        (handler,) = [
            node
            for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name == "lambda_handler"
        ]
        (decorator,) = handler.decorator_list
        assert isinstance(decorator, ast.Call), app
        assert ast.unparse(decorator.func) == "observed", app
        operation = decorator.args[0]
        assert isinstance(operation, ast.Constant), app
        assert operation.value, app
        if any(k.arg == "traced" and ast.unparse(k.value) == "False" for k in decorator.keywords):
            untraced.add(app.parent.name)
        assert "Logger(" not in app.read_text(), f"{app}: log through billing.observability"

    assert untraced == {"balances_check", "balances_track"}


def test_the_local_tools_keep_metrics_off_their_output_unless_the_environment_says(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    """`make dev`, `make bench`, `make load` and `make cost` call `quiet_metrics` before
    starting the stack; the suite's stack does not (its metrics are read)."""

    @observed("things.count", traced=False)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        count("Checks", outcome="allowed")
        return {"statusCode": 200, "body": "{}"}

    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    quiet_metrics()
    capsys.readouterr()
    handler(http_event(), CONTEXT)
    quiet = emitted(capsys.readouterr().out)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    quiet_metrics()  # said otherwise: kept
    handler(http_event(), CONTEXT)
    printed = emitted(capsys.readouterr().out)
    callers = {
        path: "quiet_metrics()" in (ROOT / path).read_text()
        for path in ("local/dev.py", "bench/__main__.py", "bench/load.py", "bench/cost.py")
    }

    assert quiet == []
    assert [line["Checks"] for line in printed] == [[1.0]]
    assert callers == dict.fromkeys(callers, True)
