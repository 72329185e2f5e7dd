"""Delivering application events to the application's endpoints: the events queue's worker.

A published event arrives once as a message naming no endpoint: its payload is built then
(once, so every try of every endpoint posts the same bytes) and posted to each endpoint that
wants its type. A failed post (no answer, or not 2xx) becomes a message of its own for that
endpoint alone, tried again after the next delay of the schedule (over a day in all); after
the last one it is kept in the dead-letter queue. SQS delays a message 15 minutes at most, so
a longer wait is a few hops of 15 minutes, each message carrying when it is due.

Idempotent: an endpoint that got an event is remembered, so a message SQS hands over twice,
or handled again after a crash, posts nothing twice; and every try carries the event's id.
"""

from __future__ import annotations

import http.client
import math
import socket
import ssl
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

from billing import clock, sqs
from billing.config import settings
from billing.domain.app_webhooks import (
    Endpoint,
    address_problem,
    next_attempt_delay,
    signed_headers,
    url_problem,
)
from billing.observability import logger
from billing.services.app_webhooks.endpoints import runtime_api_host
from billing.store import app_webhooks

# How long an endpoint has to answer one post (Svix gives 15 s).
POST_TIMEOUT_S = 10
# The longest delay SQS puts on a message.
MOST_SQS_DELAY_S = 900


class Queued(BaseModel):
    """One message of the events queue: as published (no `webhook_id`: every endpoint), or a
    retry for one endpoint with the payload already built."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    type: str
    occurred_at: int
    event: dict[str, Any]
    webhook_id: str | None = None
    # The try this message is for (1-based), and when it is due (ms).
    attempt: int = 1
    due_at: int = 0
    payload: str | None = None
    # The request that caused the event, for the worker's log lines (`observability.correlated`).
    correlation_id: str | None = None


# The body of an event; None: it cannot be told any more (what it is about is gone).
PayloadBuilder = Callable[[Queued], str | None]
Post = Callable[[str, str, dict[str, str]], bool]


def handle(message: Queued, build_payload: PayloadBuilder, post: Post | None = None) -> None:
    """Delivers what the message is for; raises only for what a redelivery may fix (the
    table or SQS unreachable), having already done what it could."""
    now = clock.now_ms()
    if message.due_at > now:
        _requeue(message, message.due_at)  # not due yet: one more hop
        return
    if message.webhook_id is None:
        targets = [e for e in app_webhooks.list_all() if e.wants(message.type)]
    else:
        endpoint = app_webhooks.load(message.webhook_id)
        # Deleted or disabled since: what was still owed to it is dropped.
        targets = [endpoint] if endpoint is not None and endpoint.wants(message.type) else []
    if not targets:
        return
    payload = message.payload if message.payload is not None else build_payload(message)
    if payload is None:
        return
    # Each endpoint on its own: one that fails (or whose delivery raises) never keeps the
    # event from the others; what a redelivery may fix is raised once all were tried.
    failed: Exception | None = None
    for endpoint in targets:
        try:
            _deliver(message, endpoint, payload, post or post_json)
        except Exception as error:
            failed = failed or error
    if failed is not None:
        raise failed


def _deliver(message: Queued, endpoint: Endpoint, payload: str, post: Post) -> None:
    if app_webhooks.delivered(message.id, endpoint.id):
        return
    now = clock.now_ms()
    headers = signed_headers(endpoint.secret, message.id, now // 1000, payload)
    if post(endpoint.url, payload, headers):
        app_webhooks.mark_delivered(message.id, endpoint.id, now, message.attempt)
        logger.debug(
            "an application event was delivered",
            extra={"webhook": endpoint.id, "message_id": message.id, "attempt": message.attempt},
        )
        return
    owed = message.model_copy(update={"webhook_id": endpoint.id, "payload": payload})
    delay_s = next_attempt_delay(message.attempt, settings().app_webhook_retry_delays)
    if delay_s is None:
        _dead_letter(owed)  # as last tried: a redrive from there tries once more
        return
    logger.info(
        "an application webhook delivery failed; it will be tried again",
        extra={"webhook": endpoint.id, "message_id": message.id, "attempt": message.attempt},
    )
    _requeue(owed.model_copy(update={"attempt": message.attempt + 1}), now + delay_s * 1000)


def _requeue(message: Queued, due_at: int) -> None:
    queue_url = settings().app_events_queue_url
    assert queue_url is not None, "the worker runs only where the queue is"
    wait_s = min(MOST_SQS_DELAY_S, max(0, math.ceil((due_at - clock.now_ms()) / 1000)))
    sqs.send(queue_url, message.model_copy(update={"due_at": due_at}).model_dump_json(), wait_s)


def _dead_letter(message: Queued) -> None:
    logger.warning(
        "an application webhook delivery failed every try; kept in the dead-letter queue",
        extra={"webhook": message.webhook_id, "message_id": message.id},
    )
    queue_url = settings().app_events_dead_letter_queue_url
    if queue_url is not None:
        sqs.send(queue_url, message.model_dump_json())


def post_json(url: str, body: str, headers: dict[str, str]) -> bool:
    """True if the endpoint answered 2xx in time. The URL is checked again as it is now (its
    host resolved, and the connection made to the address checked, so a name cannot point
    elsewhere in between); a redirect is an answer like any other, never followed."""
    allowed = settings().app_webhook_allowed_hosts
    problem = url_problem(url, allowed, runtime_api_host())
    if problem is not None:
        logger.warning("an application webhook URL is refused", extra={"problem": problem})
        return False
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return False
    addresses = [str(info[4][0]) for info in found]
    problem = address_problem(host, addresses, allowed)
    if problem is not None:
        logger.warning("an application webhook host is refused", extra={"problem": problem})
        return False
    connection = _pinned(parts.scheme, host, port, addresses[0])
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request("POST", path, body=body.encode(), headers=headers)
        return 200 <= connection.getresponse().status < 300
    except (OSError, http.client.HTTPException, ValueError, UnicodeError):
        return False
    finally:
        connection.close()


def _pinned(scheme: str, host: str, port: int, address: str) -> http.client.HTTPConnection:
    """A connection to `host` made to the `address` checked for it (TLS still verifies the
    certificate against `host`)."""

    def connect_to_address(connection: http.client.HTTPConnection) -> socket.socket:
        return socket.create_connection((address, port), timeout=POST_TIMEOUT_S)

    if scheme == "https":
        context = ssl.create_default_context()

        class PinnedTls(http.client.HTTPSConnection):
            def connect(self) -> None:
                self.sock = context.wrap_socket(connect_to_address(self), server_hostname=host)

        return PinnedTls(host, port, timeout=POST_TIMEOUT_S, context=context)

    class Pinned(http.client.HTTPConnection):
        def connect(self) -> None:
            self.sock = connect_to_address(self)

    return Pinned(host, port, timeout=POST_TIMEOUT_S)


def parse(body: str) -> Queued | None:
    """The message, or None for one no retry can read (it goes to the dead-letter queue)."""
    try:
        return Queued.model_validate_json(body)
    except ValueError:
        return None
