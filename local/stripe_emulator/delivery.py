"""Webhook delivery: every emitted event, signed as Stripe signs it, to every endpoint that
wants it.

Two steps, so that no lock is held while a receiver runs (a receiver may call back into the
emulator): ``take`` runs under the store lock at the end of a request and claims the
events that request emitted (so concurrent requests never deliver one event twice);
``send`` runs after the lock is released and before the request answers, so a test sees
the webhooks' effects as soon as its API call returns.

That is the ordered mode (the default): every event once, in order, before the answer.
Stripe promises neither order nor a single delivery; the realistic mode (``realistic``,
chosen with ``configure``) delivers after the answer, shuffled, some twice, some late,
from a seed, and ``settle`` waits until it is all done.

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
from local.stripe_emulator.deliveries import Delivery, Target
from local.stripe_emulator.realistic import Planned, Realism, RealisticScheduler
from local.stripe_emulator.store import JsonObject, ObjectStore

# Stripe retries for days with exponential backoff; locally a few quick tries suffice.
RETRY_DELAYS = (0.05, 0.2, 0.5)
TIMEOUT_SECONDS = 10.0
_MAX_ATTEMPTS_KEPT = 10_000
# Bounds on waits for realistic delivery, far above what a loaded machine needs: a receiver
# that hangs shows up as an error naming the seed rather than as a hung suite.
FLUSH_TIMEOUT_S = 120.0
_SETTLE_ON_SWITCH_S = 60.0


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
    # first | duplicate (delivered again on purpose) | retry (after a failed attempt)
    copy: str = "first"

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
        self._scheduler: RealisticScheduler | None = None
        self._in_flight = 0  # API requests (and background jobs) being answered

    # -- mode ----------------------------------------------------------------------

    def configure(self, realism: Realism | None, store: ObjectStore) -> None:
        """Ordered delivery (None) or realistic delivery as ``realism`` says; what the
        previous realistic mode still had queued is delivered first."""
        with self._lock:
            previous, self._scheduler = self._scheduler, None
        if previous is not None:
            previous.settle(_SETTLE_ON_SWITCH_S)
            previous.stop()
        if realism is None:
            return
        with self._lock:
            # Requests being answered now (a test clock's background advance) end under
            # the new mode: it starts from their count.
            self._scheduler = RealisticScheduler(
                realism,
                lambda d, number, copy: self._send_once(d, number, copy, store),
                in_flight=self._in_flight,
            )

    @property
    def realism(self) -> Realism | None:
        scheduler = self._scheduler
        return None if scheduler is None else scheduler.realism

    def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.stop()
            self._scheduler = None

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

    def dispatch(self, deliveries: Iterable[Delivery], store: ObjectStore) -> None:
        """What a request emitted, once it is done (call with no lock held): sent now, in
        order (ordered mode), or queued to be delivered after the answer (realistic)."""
        if self._scheduler is None:
            self.send(deliveries, store)
        else:
            self._scheduler.submit(deliveries)

    def deliver_now(self, deliveries: Iterable[Delivery], store: ObjectStore) -> None:
        """Like ``dispatch``, but returns once they (and all that is queued) are delivered:
        for a request that must wait for its webhooks (a test clock's renewal drafts)."""
        if self._scheduler is None:
            self.send(deliveries, store)
        else:
            self._scheduler.submit(deliveries)
            self._scheduler.flush(FLUSH_TIMEOUT_S)

    def settle(self, timeout_s: float) -> None:
        """Returns once every event emitted so far is delivered, duplicates, late ones and
        retries included; at once in ordered mode (delivered before each answer)."""
        if self._scheduler is not None:
            self._scheduler.settle(timeout_s)

    def request_began(self) -> None:
        with self._lock:
            self._in_flight += 1
            if self._scheduler is not None:
                self._scheduler.request_began()

    def request_ended(self) -> None:
        with self._lock:
            self._in_flight -= 1
            if self._scheduler is not None:
                self._scheduler.request_ended()

    def pending(self) -> int:
        return 0 if self._scheduler is None else self._scheduler.pending()

    def planned(self) -> list[Planned]:
        return [] if self._scheduler is None else self._scheduler.planned()

    def given_up(self) -> list[Delivery]:
        return [] if self._scheduler is None else self._scheduler.given_up()

    def reset(self) -> None:
        self.clear_attempts()
        if self._scheduler is not None:
            self._scheduler.reset()

    def send(self, deliveries: Iterable[Delivery], store: ObjectStore) -> None:
        """Delivers in order, retrying each failed one; call with no lock held."""
        for delivery in deliveries:
            if self._send_with_retries(delivery):
                _delivered(delivery, store)

    def attempts(self) -> list[JsonObject]:
        with self._lock:
            return [{**asdict(a), "succeeded": a.succeeded} for a in self._attempts]

    def clear_attempts(self) -> None:
        with self._lock:
            self._attempts.clear()

    def _send_once(self, delivery: Delivery, number: int, copy: str, store: ObjectStore) -> bool:
        attempt = _post(delivery, number, copy)
        with self._lock:
            self._attempts.append(attempt)
        if attempt.succeeded and copy != "duplicate":
            _delivered(delivery, store)
        return attempt.succeeded

    def _send_with_retries(self, delivery: Delivery) -> bool:
        for number, pause in enumerate((0.0, *RETRY_DELAYS), start=1):
            time.sleep(pause)
            attempt = _post(delivery, number)
            with self._lock:
                self._attempts.append(attempt)
            if attempt.succeeded:
                return True
        return False


def _delivered(delivery: Delivery, store: ObjectStore) -> None:
    with store.lock:
        event = store.find("event", delivery.event_id)
        if event is not None and event["pending_webhooks"] > 0:
            event["pending_webhooks"] -= 1


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


def _post(delivery: Delivery, number: int, copy: str = "first") -> Attempt:
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
        copy=copy,
    )
