# ruff: noqa: F811 (the fixtures imported below are the parameters of the tests)
"""Where application webhooks may go: URLs checked at registration, internal targets refused
again at delivery, redirects never followed, and one endpoint never holding up another.
Nothing here sends traffic anywhere but loopback."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from billing.config import reset_caches
from billing.store import keys
from local.stack import LocalStack
from tests.conftest import dynamodb_client
from tests.emulator.receiver import WebhookReceiver
from tests.integration.test_app_webhooks import (  # noqa: F401 (fixtures)
    _dead_letters,
    catalog,
    receiver,
    retries,
    wait_for,
)


@pytest.mark.parametrize(
    "url",
    [
        "http://user:pass@hooks.example.com/",
        "https://user@hooks.example.com/",
        "https:///no-host",
        "https://exa mple.com/",
        "https://169.254.169.254/latest/meta-data",
        "https://[::ffff:169.254.169.254]/",
        "https://10.0.0.5/hooks",
        "https://192.168.1.1:8443/hooks",
        "https://0.0.0.0/",
        "https://[fd00::1]/",
        "https://hooks.example.com:99999/",
        "http://hooks.example.com/",  # plain http only to a host the deployment allows
    ],
)
def test_an_endpoint_url_that_is_not_a_public_https_url_is_a_400_naming_url(
    api: httpx.Client, url: str
) -> None:
    created = api.post("/v1/webhooks.create", json={"id": "app", "url": url})
    assert api.post(
        "/v1/webhooks.create", json={"id": "ok", "url": "https://a.example/h"}
    ).is_success
    updated = api.post("/v1/webhooks.update", json={"id": "ok", "url": url})

    assert created.status_code == 400, created.text
    assert created.json()["details"][0]["field"] == "url"
    assert updated.status_code == 400, updated.text
    assert api.post("/v1/webhooks.list", json={}).json()["list"][0]["url"] == "https://a.example/h"


def stored_url(stack: LocalStack, webhook_id: str, url: str) -> None:
    """An endpoint URL as an older release may have stored it, written past the API's check."""
    dynamodb_client(stack).update_item(
        TableName=stack.config.table_name,
        Key={"PK": {"S": keys.APP_WEBHOOKS_PK}, "SK": {"S": keys.app_webhook_sk(webhook_id)}},
        UpdateExpression="SET #url = :url",
        ExpressionAttributeNames={"#url": "url"},
        ExpressionAttributeValues={":url": {"S": url}},
    )


@pytest.mark.parametrize("retries", ["1,1"], indirect=True)
@pytest.mark.parametrize("bad_url", ["http://exa mple.com/", "http://[::1", "http://u:p@[::1/"])
def test_an_endpoint_whose_url_cannot_be_opened_never_holds_up_another(
    catalog: httpx.Client,
    receiver: WebhookReceiver,
    clean_stack: LocalStack,
    retries: None,
    bad_url: str,
) -> None:
    # Created first, so delivered to first.
    assert catalog.post(
        "/v1/webhooks.create", json={"id": "broken", "url": "https://a.example/h"}
    ).is_success
    stored_url(clean_stack, "broken", bad_url)
    assert catalog.post("/v1/webhooks.create", json={"id": "app", "url": receiver.url}).is_success
    catalog.post("/v1/customers.get_or_create", json={"customer_id": "c1"})

    catalog.post("/v1/billing.attach", json={"customer_id": "c1", "plan_id": "free"})

    wait_for(lambda: len(receiver.received) == 1, timeout_s=10)
    kept = _dead_letters(clean_stack, wait_s=6)
    assert len(receiver.received) == 1, "delivered once, never again"
    # Delivery is at least once (the outbox may queue an event again), so the broken
    # endpoint's copy may be kept more than once; the other endpoint's never is.
    assert kept, "the broken endpoint's copy is kept"
    assert {m["webhook_id"] for m in kept} == {"broken"}, "only the broken endpoint's copy"


class Redirector:
    """A loopback server answering every POST with a redirect to `target`."""

    def __init__(self, target: str) -> None:
        self.posts = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                outer.posts += 1
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(307)
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def redirector(receiver: WebhookReceiver) -> Iterator[Redirector]:
    server = Redirector(receiver.url)
    yield server
    server.stop()


@pytest.mark.parametrize("retries", ["1"], indirect=True)
def test_a_redirect_is_never_followed_and_counts_as_a_failed_try(
    catalog: httpx.Client,
    receiver: WebhookReceiver,
    redirector: Redirector,
    clean_stack: LocalStack,
    retries: None,
) -> None:
    assert catalog.post("/v1/webhooks.create", json={"id": "app", "url": redirector.url}).is_success
    catalog.post("/v1/customers.get_or_create", json={"customer_id": "c1"})

    catalog.post("/v1/billing.attach", json={"customer_id": "c1", "plan_id": "free"})

    wait_for(lambda: redirector.posts == 2, timeout_s=10)  # the first try and its one retry
    assert [m["webhook_id"] for m in _dead_letters(clean_stack, wait_s=5)] == ["app"]
    assert receiver.received == [], "the signed body never went where the redirect pointed"


@pytest.fixture
def no_private_hosts_allowed() -> Iterator[None]:
    before = os.environ.get("APP_WEBHOOK_ALLOWED_HOSTS")
    os.environ["APP_WEBHOOK_ALLOWED_HOSTS"] = ""
    reset_caches()
    yield
    if before is None:
        os.environ.pop("APP_WEBHOOK_ALLOWED_HOSTS", None)
    else:
        os.environ["APP_WEBHOOK_ALLOWED_HOSTS"] = before
    reset_caches()


def test_a_name_resolving_to_an_internal_address_is_refused_at_delivery(
    receiver: WebhookReceiver,
    no_private_hosts_allowed: None,
) -> None:
    from billing.services.app_webhooks.delivery import post_json

    # localhost resolves to loopback at delivery time: refused before any connection.
    port = receiver.url.split(":")[2].split("/")[0]
    posted = post_json(f"http://localhost:{port}/webhooks/stripe", "{}", {})

    time.sleep(0.2)
    assert posted is False
    assert receiver.received == []
