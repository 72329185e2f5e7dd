"""Webhook delivery: every emitted event, signed as Stripe signs it, to every endpoint that
wants it.

Two steps, so that no lock is held while a receiver runs (a receiver may call back into the
emulator): ``take`` runs under the store lock at the end of a request and claims the
events that request emitted (so concurrent requests never deliver one event twice);
``send`` runs after the lock is released and before the request answers, so a test sees
the webhooks' effects as soon as its API call returns.

Besides the ``/v1/webhook_endpoints`` of the emulated account there are forwarding
targets, registered through the control API the way ``stripe listen --forward-to`` works:
the local stack registers its ``/webhooks/stripe`` with a known secret once, and they
survive ``reset``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from local.stripe_emulator import webhook_endpoints
from local.stripe_emulator.store import JsonObject, ObjectStore

# Stripe retries for days with exponential backoff; locally a few quick tries suffice.
RETRY_DELAYS = (0.05, 0.2, 0.5)
TIMEOUT_SECONDS = 10.0
_MAX_ATTEMPTS_KEPT = 10_000


@dataclass(frozen=True)
class Target:
    endpoint: str
    url: str
    secret: str


@dataclass(frozen=True)
class Delivery:
    event_id: str
    event_type: str
    target: Target
    payload: bytes


@dataclass(frozen=True)
class Attempt:
    event_id: str
    event_type: str
    endpoint: str
    url: str
    attempt: int
    status: int | None
    error: str | None
    signature: str
    at: float

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class WebhookDelivery:
    def __init__(self, api_version: str) -> None:
        # The account's API version, which Stripe renders (and stamps) events with.
        self._api_version = api_version
        self._lock = threading.Lock()
        self._forwards: dict[str, Target] = {}
        # Bounded: a long `make dev` session must not grow without end.
        self._attempts: deque[Attempt] = deque(maxlen=_MAX_ATTEMPTS_KEPT)

    # -- forwarding targets (control API) ------------------------------------------

    def forward(self, url: str, secret: str, endpoint: str) -> None:
        if urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(f"not an http(s) URL: {url}")
        with self._lock:
            self._forwards[url] = Target(endpoint, url, secret)

    def stop_forwarding(self) -> None:
        with self._lock:
            self._forwards.clear()

    def forwards(self) -> list[Target]:
        with self._lock:
            return list(self._forwards.values())

    # -- delivery ------------------------------------------------------------------

    def take(self, store: ObjectStore, cause: JsonObject | None = None) -> list[Delivery]:
        """Claims the queued events (call under ``store.lock``) and what to send for them.

        ``cause`` is the API request that emitted them (Stripe's ``event.request``); page
        posts and clock-driven changes have none.
        """
        event_ids = list(store.undelivered)
        store.undelivered.clear()
        deliveries: list[Delivery] = []
        for event_id in event_ids:
            event = store.find("event", event_id)
            if event is None:
                continue
            if cause is not None:
                event["request"] = dict(cause)
            event["api_version"] = event["api_version"] or self._api_version
            targets = self.targets(store, event["type"])
            event["pending_webhooks"] = len(targets)
            deliveries.extend(_deliveries(event, targets))
        return deliveries

    def targets(self, store: ObjectStore, event_type: str) -> list[Target]:
        endpoints = [
            Target(e["id"], e["url"], e["secret"])
            for e in reversed(store.live(webhook_endpoints.OBJECT))
            if webhook_endpoints.wants(e, event_type)
        ]
        return [*endpoints, *self.forwards()]

    def redeliveries(self, store: ObjectStore, event_id: str) -> list[Delivery]:
        """The stored event again, to every endpoint that wants it (call under the lock)."""
        event = store.require("event", event_id)
        return list(_deliveries(event, self.targets(store, event["type"])))

    def send(self, deliveries: Iterable[Delivery], store: ObjectStore) -> None:
        """Delivers in order, retrying each failed one; call with no lock held."""
        for delivery in deliveries:
            if self._send_with_retries(delivery):
                with store.lock:
                    event = store.find("event", delivery.event_id)
                    if event is not None and event["pending_webhooks"] > 0:
                        event["pending_webhooks"] -= 1

    def attempts(self) -> list[JsonObject]:
        with self._lock:
            return [{**asdict(a), "succeeded": a.succeeded} for a in self._attempts]

    def clear_attempts(self) -> None:
        with self._lock:
            self._attempts.clear()

    def _send_with_retries(self, delivery: Delivery) -> bool:
        for number, pause in enumerate((0.0, *RETRY_DELAYS), start=1):
            time.sleep(pause)
            attempt = _post(delivery, number)
            with self._lock:
                self._attempts.append(attempt)
            if attempt.succeeded:
                return True
        return False


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """Stripe's ``Stripe-Signature``: HMAC-SHA256 of ``"<t>.<body>"`` under the secret."""
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _deliveries(event: JsonObject, targets: list[Target]) -> Iterable[Delivery]:
    payload = json.dumps(event, indent=2).encode()
    for target in targets:
        yield Delivery(event["id"], event["type"], target, payload)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Stripe counts a redirect as a failed delivery rather than following it."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


# No proxies: receivers are local, and a proxy from the environment would intercept them.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())


def _post(delivery: Delivery, number: int) -> Attempt:
    signature = sign(delivery.payload, delivery.target.secret, int(time.time()))
    # Targets are http(s) only: endpoints and forwards are checked when registered.
    request = urllib.request.Request(  # noqa: S310
        delivery.target.url,
        data=delivery.payload,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Stripe-Signature": signature,
        },
    )
    status: int | None = None
    error: str | None = None
    try:
        with _OPENER.open(request, timeout=TIMEOUT_SECONDS) as answer:
            answer.read()
            status = answer.status
    except urllib.error.HTTPError as failed:
        status = failed.code
    except (OSError, urllib.error.URLError) as failed:
        error = str(failed)
    return Attempt(
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        endpoint=delivery.target.endpoint,
        url=delivery.target.url,
        attempt=number,
        status=status,
        error=error,
        signature=signature,
        at=time.time(),
    )
