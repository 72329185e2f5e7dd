"""What the functions tell on-call, through the local stack: the metrics each invocation
prints in CloudWatch's embedded metric format (EMF: one JSON line per set of dimensions,
read from stdout as CloudWatch Logs reads it), and the keys of their log lines."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from local.stack import LocalStack
from tests.conftest import stripe_client
from tests.emulator.receiver import WebhookReceiver
from tests.log_secrets import SEARCH

FREE = {"plan_id": "free", "name": "Free", "items": [{"feature_id": "messages", "included": 5}]}
PRO = {
    "plan_id": "pro",
    "name": "Pro",
    "price": {"amount": 20, "interval": "month"},
    "items": [{"feature_id": "messages", "included": 1000}],
}


def emitted(out: str) -> list[dict[str, Any]]:
    """The EMF lines of what the functions printed."""
    return [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]


def values(lines: list[dict[str, Any]], metric: str, **dimensions: str) -> list[float]:
    """Every value of `metric` printed with exactly these dimensions (and `service`)."""
    wanted = {**dimensions, "service": "billing"}
    found: list[float] = []
    for line in lines:
        (directive,) = line["_aws"]["CloudWatchMetrics"]
        names = {m["Name"] for m in directive["Metrics"]}
        keys = set(directive["Dimensions"][0])
        if metric in names and keys == set(wanted) and all(line[k] == v for k, v in wanted.items()):
            assert directive["Namespace"] == "Billing"
            found += line[metric]
    return found


def check(api: httpx.Client, **headers: str) -> bool:
    answer = api.post(
        "/v1/balances.check",
        json={"customer_id": "c1", "feature_id": "messages"},
        headers=headers,
    )
    assert answer.status_code == 200
    return bool(answer.json()["allowed"])


def test_checks_tracks_an_attach_and_a_replay_print_their_metrics(
    api: httpx.Client, capsys: pytest.CaptureFixture[str]
):
    api.post(
        "/v1/features.create",
        json={"feature_id": "messages", "name": "Messages", "type": "metered"},
    )
    assert api.post("/v1/plans.create", json=FREE).status_code == 200
    assert api.post("/v1/customers.get_or_create", json={"customer_id": "c1"}).status_code == 200
    capsys.readouterr()

    denied = check(api)
    free = api.post("/v1/billing.attach", json={"customer_id": "c1", "plan_id": "free"})
    allowed = check(api)
    use = {"customer_id": "c1", "feature_id": "messages", "value": 1}
    key = {"Idempotency-Key": "obs-track-1"}
    first = api.post("/v1/balances.track", json=use, headers=key)
    again = api.post("/v1/balances.track", json=use, headers=key)
    lines = emitted(capsys.readouterr().out)

    assert (denied, allowed) == (False, True)
    assert free.status_code == first.status_code == again.status_code == 200
    assert values(lines, "Checks", outcome="denied") == [1.0]
    assert values(lines, "Checks", outcome="allowed") == [1.0]
    assert values(lines, "Tracks", outcome="recorded") == [1.0]
    assert values(lines, "IdempotentReplays") == [1.0]
    assert values(lines, "Attaches", outcome="granted") == [1.0]
    assert values(lines, "StripeCalls", outcome="ok") == []  # a free plan needs no Stripe


def test_a_queued_track_stripe_calls_and_a_stripe_event_print_their_metrics(
    stack: Any, api: httpx.Client, capsys: pytest.CaptureFixture[str]
):
    api.post(
        "/v1/features.create",
        json={"feature_id": "messages", "name": "Messages", "type": "metered"},
    )
    api.post("/v1/customers.get_or_create", json={"customer_id": "c1"})
    api.post(
        "/v1/balances.create",
        json={"customer_id": "c1", "feature_id": "messages", "included_grant": 10},
    )
    capsys.readouterr()

    queued = api.post(
        "/v1/balances.track",
        json={"customer_id": "c1", "feature_id": "messages", "value": 2, "async": True},
    )
    linked = api.post(
        "/v1/customers.get_or_create", json={"customer_id": "c2", "create_in_stripe": True}
    )
    stack.settle()  # the worker has applied the queued use (a loaded machine may be slow)
    lines = emitted(capsys.readouterr().out)

    assert queued.status_code == 202
    assert linked.status_code == 200
    assert values(lines, "Tracks", outcome="queued") == [1.0]
    assert sum(values(lines, "QueuedUses", outcome="applied")) == 1.0
    # Creating the Stripe customer made Stripe send `customer.created`, which we record and
    # do not act on.
    assert values(lines, "StripeEvents", type="customer.created", outcome="ignored") == [1.0]
    # Making the Stripe customer (and its test clock) took Stripe calls: each counted and
    # timed, in the same line.
    calls = values(lines, "StripeCalls", outcome="ok")
    latencies = values(lines, "StripeCallLatency", outcome="ok")
    assert len(calls) >= 2
    assert len(latencies) == len(calls)
    assert all(took > 0 for took in latencies)
    assert values(lines, "StripeCalls", outcome="server_error") == []


def test_a_webhook_that_fails_is_counted_and_logged_under_the_callers_request_id(
    stack: Any, api: httpx.Client, capsys: pytest.CaptureFixture[str]
):
    capsys.readouterr()
    SEARCH.take()

    refused = httpx.post(
        f"{stack.api_url}/webhooks/stripe",
        content=b'{"id": "evt_1", "type": "invoice.paid"}',
        headers={"Stripe-Signature": "t=1,v1=forged", "X-Request-Id": "caller-trace-9"},
    )
    lines = emitted(capsys.readouterr().out)
    _, logged = SEARCH.take()

    assert refused.status_code == 400
    assert values(lines, "StripeEventFailures") == [1.0]
    (failed,) = [json.loads(line) for line in logged if "stripe event failed" in line]
    assert failed["correlation_id"] == "caller-trace-9"
    assert failed["operation"] == "stripe.webhook"
    assert failed["level"] == "WARNING"


def test_every_line_of_a_request_names_its_customer_operation_and_api_gateways_request_id(
    api: httpx.Client,
):
    api.post(
        "/v1/features.create",
        json={"feature_id": "messages", "name": "Messages", "type": "metered"},
    )
    api.post("/v1/customers.get_or_create", json={"customer_id": "c1"})
    SEARCH.take()

    answer = api.post("/v1/balances.check", json={"customer_id": "c1", "feature_id": "messages"})
    _, logged = SEARCH.take()

    (ended,) = [
        line
        for line in map(json.loads, logged)
        if line["message"] == "invocation ended" and line.get("operation") == "balances.check"
    ]
    assert answer.status_code == 200
    assert ended["customer_id"] == "c1"
    assert ended["status"] == 200
    assert ended["correlation_id"] == answer.headers["apigw-requestid"]


def test_queue_workers_log_under_the_correlation_id_of_the_request_that_queued_the_message(
    stack: LocalStack, api: httpx.Client
):
    """A use queued by a track sent with X-Request-Id is applied by the usage worker under
    that id; an application event published by an attach is delivered by the events worker
    under the attach's id."""
    receiver = WebhookReceiver()
    try:
        api.post(
            "/v1/features.create",
            json={"feature_id": "messages", "name": "Messages", "type": "metered"},
        )
        assert api.post("/v1/plans.create", json=FREE).status_code == 200
        assert api.post("/v1/webhooks.create", json={"id": "app", "url": receiver.url}).is_success
        api.post("/v1/customers.get_or_create", json={"customer_id": "c1"})
        stack.settle()
        SEARCH.take()

        queued = api.post(
            "/v1/balances.track",
            json={"customer_id": "c1", "feature_id": "messages", "value": 1, "async": True},
            headers={"X-Request-Id": "queued-by-7"},
        )
        stack.settle()
        attached = api.post(
            "/v1/billing.attach",
            json={"customer_id": "c1", "plan_id": "free"},
            headers={"X-Request-Id": "attached-by-8"},
        )
        stack.settle()
        _, logged = SEARCH.take()
    finally:
        receiver.stop()

    lines = [json.loads(line) for line in logged]
    applied = [line for line in lines if line["message"] == "queued uses applied"]
    delivered = [line for line in lines if line["message"] == "an application event was delivered"]
    assert queued.status_code == 202
    assert attached.status_code == 200
    assert [(line["operation"], line["correlation_id"]) for line in applied] == [
        ("balances.track_worker", "queued-by-7")
    ]
    assert [(line["operation"], line["correlation_id"]) for line in delivered] == [
        ("app_events.worker", "attached-by-8")
    ]


def test_attaches_are_counted_charged_or_action_required_by_how_the_card_answered(
    stack: LocalStack, api: httpx.Client, capsys: pytest.CaptureFixture[str]
):
    api.post(
        "/v1/features.create",
        json={"feature_id": "messages", "name": "Messages", "type": "metered"},
    )
    assert api.post("/v1/plans.create", json=PRO).status_code == 200
    for customer_id, card in (("c1", "pm_card_visa"), ("c2", "pm_card_authenticationRequired")):
        linked = api.post(
            "/v1/customers.get_or_create",
            json={"customer_id": customer_id, "create_in_stripe": True},
        ).json()
        stripe = stripe_client(stack)
        method = stripe.v1.payment_methods.attach(card, {"customer": linked["stripe_id"]})
        stripe.v1.customers.update(
            linked["stripe_id"], {"invoice_settings": {"default_payment_method": method.id}}
        )
    capsys.readouterr()

    charged = api.post("/v1/billing.attach", json={"customer_id": "c1", "plan_id": "pro"})
    lines = emitted(capsys.readouterr().out)
    needs_the_customer = api.post(
        "/v1/billing.attach", json={"customer_id": "c2", "plan_id": "pro"}
    )
    lines_3ds = emitted(capsys.readouterr().out)
    # The customer authenticates, so the purchase ends granted.
    httpx.post(
        needs_the_customer.json()["payment_url"], data={"action": "authenticate"}, timeout=30
    )

    assert charged.status_code == needs_the_customer.status_code == 200
    assert values(lines, "Attaches", outcome="charged") == [1.0]
    assert values(lines_3ds, "Attaches", outcome="action_required") == [1.0]
    assert values(lines + lines_3ds, "Attaches", outcome="checkout") == []
