"""Idempotency, concurrency, fault injection and the HTTP control API."""

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import stripe
from stripe._http_client import HTTPClient

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _fast_sdk_retries(monkeypatch):
    # The SDK backs off at least 0.5 s between retries; keep the suite quick.
    monkeypatch.setattr(HTTPClient, "INITIAL_DELAY", 0.01)
    monkeypatch.setattr(HTTPClient, "MAX_DELAY", 0.02)


@pytest.fixture(scope="module")
def client(emulator):
    return stripe.StripeClient(
        "sk_test_emulator", base_addresses={"api": emulator.url}, max_network_retries=2
    )


def _http(
    base: str,
    method: str,
    path: str,
    payload: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, http.client.HTTPMessage, Any]:
    """A raw request, for the control API and for checking wire-level details."""
    address = urlsplit(base)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=5)
    try:
        body = None if payload is None else json.dumps(payload)
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, json.loads(response.read())
    finally:
        connection.close()


def test_same_key_replays_first_response(client, emulator):
    options = {"idempotency_key": "create-user-1"}
    first = client.v1.customers.create({"email": "one@example.com"}, options)
    second = client.v1.customers.create({"email": "one@example.com"}, options)
    assert second.id == first.id
    assert second.last_response.headers["Idempotent-Replayed"] == "true"
    assert second.last_response.headers["Original-Request"] == first.last_response.request_id
    assert "Idempotent-Replayed" not in first.last_response.headers
    assert emulator.count("customer") == 1
    assert emulator.requests_made("POST", "/v1/customers") == 2


def test_same_key_with_different_params_is_idempotency_error(client, emulator):
    options = {"idempotency_key": "create-user-2"}
    client.v1.customers.create({"email": "two@example.com"}, options)
    with pytest.raises(stripe.IdempotencyError) as excinfo:
        client.v1.customers.create({"email": "changed@example.com"}, options)
    assert excinfo.value.http_status == 400
    assert "same parameters" in excinfo.value.user_message
    assert emulator.count("customer") == 1


def test_same_key_on_another_endpoint_is_idempotency_error(client):
    customer = client.v1.customers.create({"name": "a"}, {"idempotency_key": "shared-key"})
    with pytest.raises(stripe.IdempotencyError) as excinfo:
        client.v1.customers.update(customer.id, {"name": "a"}, {"idempotency_key": "shared-key"})
    assert "same endpoint" in excinfo.value.user_message


def test_validation_errors_do_not_burn_the_key(client, emulator):
    options = {"idempotency_key": "create-user-3"}
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.create({"email": "not-an-email"}, options)
    fixed = client.v1.customers.create({"email": "three@example.com"}, options)
    assert fixed.email == "three@example.com"
    assert emulator.count("customer") == 1


def test_concurrent_creates_with_one_key_make_one_customer(client, emulator):
    emulator.delay("POST", "/v1/customers", 0.05)
    start = threading.Barrier(20)

    def create(_):
        start.wait()
        return client.v1.customers.create(
            {"email": "race@example.com", "metadata": {"user_id": "u_race"}},
            {"idempotency_key": "ensure-customer-u_race"},
        ).id

    with ThreadPoolExecutor(max_workers=20) as pool:
        ids = list(pool.map(create, range(20)))
    assert len(set(ids)) == 1
    assert emulator.count("customer") == 1
    assert emulator.requests_made("POST", "/v1/customers") == 20


def test_concurrent_creates_with_distinct_keys_all_succeed(client, emulator):
    with ThreadPoolExecutor(max_workers=10) as pool:
        ids = list(pool.map(lambda i: client.v1.customers.create({"name": f"n{i}"}).id, range(30)))
    assert len(set(ids)) == 30
    assert emulator.count("customer") == 30


def test_injected_500_is_retried_by_the_sdk(client, emulator):
    emulator.fail_next("POST", "/v1/customers", status=500)
    customer = client.v1.customers.create({"email": "retry@example.com"})
    assert customer.email == "retry@example.com"
    assert emulator.count("customer") == 1
    assert emulator.requests_made("POST", "/v1/customers") == 2


def test_faults_beyond_the_retry_budget_surface_as_api_error(client, emulator):
    emulator.fail_next("POST", "/v1/customers", status=503, times=3)
    with pytest.raises(stripe.APIError) as excinfo:
        client.v1.customers.create({"email": "doomed@example.com"})
    assert excinfo.value.http_status == 503
    body = excinfo.value.json_body
    assert isinstance(body, dict)
    assert body["error"]["type"] == "api_error"
    assert emulator.count("customer") == 0
    # 1 attempt + max_network_retries=2
    assert emulator.requests_made("POST", "/v1/customers") == 3


def test_faults_do_not_change_state_of_updates(client, emulator):
    customer = client.v1.customers.create({"name": "before"})
    emulator.fail_next("POST", f"/v1/customers/{customer.id}", times=3)
    with pytest.raises(stripe.APIError):
        client.v1.customers.update(customer.id, {"name": "after"})
    assert client.v1.customers.retrieve(customer.id).name == "before"


def test_control_endpoints(client, emulator):
    base = emulator.url
    client.v1.customers.create({"email": "ctl@example.com"})
    status, _, counts = _http(base, "GET", "/_emulator/counts")
    assert status == 200
    assert {name: counts[name] for name in ("customer", "price", "product")} == {
        "customer": 1,
        "price": 0,
        "product": 0,
    }

    _, _, made = _http(base, "GET", "/_emulator/requests?method=POST&path_prefix=/v1/customers")
    assert made == {"count": 1}

    status, _, _ = _http(
        base,
        "POST",
        "/_emulator/faults",
        {"method": "GET", "path_prefix": "/v1/customers", "status": 502, "times": 1},
    )
    assert status == 200
    no_retry = stripe.StripeClient("sk_test_x", base_addresses={"api": base})
    with pytest.raises(stripe.APIError) as excinfo:
        no_retry.v1.customers.list()
    assert excinfo.value.http_status == 502
    assert len(no_retry.v1.customers.list().data) == 1

    status, _, _ = _http(base, "POST", "/_emulator/reset")
    assert status == 200
    assert set(_http(base, "GET", "/_emulator/counts")[2].values()) == {0}
    assert emulator.count("customer") == 0


def test_unknown_route_and_missing_key_are_stripe_shaped(emulator):
    status, headers, body = _http(
        emulator.url, "GET", "/v1/nonsense", headers={"Authorization": "Bearer sk_test_x"}
    )
    assert status == 404
    assert headers["Request-Id"].startswith("req_")
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["message"].startswith("Unrecognized request URL (GET: /v1/nonsense)")

    status, _, body = _http(emulator.url, "GET", "/v1/customers")
    assert status == 401
    assert body["error"]["type"] == "invalid_request_error"
    assert "API key" in body["error"]["message"]


def test_standalone_process_serves_and_stops_on_sigterm():
    process = subprocess.Popen(
        [sys.executable, "-m", "local.stripe_emulator", "--port", "0"],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        standalone = stripe.StripeClient("sk_test_x", base_addresses={"api": url})
        standalone.v1.customers.create({"email": "standalone@example.com"})
        counts = _http(url, "GET", "/_emulator/counts")[2]
        assert {name: counts[name] for name in ("customer", "price", "product")} == {
            "customer": 1,
            "price": 0,
            "product": 0,
        }
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
