"""The emulator: its test controls and the request pipeline (faults, authentication,
idempotency, the store lock, webhook dispatch, background jobs). The HTTP server around it
is in `http_server`, the control API in `control`, the wire format in `wire`."""

from __future__ import annotations

import json
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import asdict
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from local.stripe_emulator import (
    billing_portal,
    charges,
    checkout_page,
    checkout_sessions,
    control,
    credit_notes,
    customers,
    events,
    forms,
    http_server,
    invoice_page,
    invoice_payments,
    invoice_preview,
    invoice_routes,
    invoiceitems,
    payment_intents,
    payment_methods,
    prices,
    products,
    refunds,
    setup_intents,
    subscription_items,
    subscription_schedules,
    subscriptions,
    test_clocks,
    webhook_endpoints,
    wire,
)
from local.stripe_emulator.control import CONTROL_PREFIX
from local.stripe_emulator.deliveries import Delivery
from local.stripe_emulator.delivery import WebhookDelivery
from local.stripe_emulator.errors import StripeError, api_error, invalid_param, unrecognized_url
from local.stripe_emulator.faults import FaultInjector
from local.stripe_emulator.idempotency import IdempotencyCache, SavedResponse
from local.stripe_emulator.realistic import Realism
from local.stripe_emulator.routing import (
    ApiRequest,
    BackgroundJob,
    PageHandler,
    PageRequest,
    Router,
)
from local.stripe_emulator.store import ObjectStore, random_token
from local.stripe_emulator.wire import HttpResponse

# Answers the SDK tests read from here too.
__all__ = ["API_VERSION", "CONTROL_PREFIX", "HttpResponse", "StripeEmulator"]

# Each resource module contributes its routes; later slices append to this tuple.
RESOURCES = (
    # Events, webhooks and the hosted flows first; the money resources follow.
    events.register,
    webhook_endpoints.register,
    checkout_sessions.register,
    checkout_page.register,
    billing_portal.register,
    customers.register,
    products.register,
    prices.register,
    payment_methods.register,
    charges.register,
    payment_intents.register,
    refunds.register,
    setup_intents.register,
    invoice_routes.register,
    invoice_preview.register,
    invoice_page.register,
    invoiceitems.register,
    invoice_payments.register,
    credit_notes.register,
    subscriptions.register,
    subscription_items.register,
    subscription_schedules.register,
    test_clocks.register,
)

API_VERSION = "2026-10-28.endive"
_MAX_IDEMPOTENCY_KEY_LENGTH = 255
# How long `settle` waits by default: far above what a loaded two-core machine needs.
SETTLE_TIMEOUT_S = 120.0


class StripeEmulator:
    """A stateful, in-memory Stripe API for offline tests, driven by the real SDK."""

    def __init__(self, delivery: Realism | None = None) -> None:
        """``delivery``: None delivers every webhook once, in order, before the answer;
        a ``Realism`` delivers them as Stripe may (see ``realistic``)."""
        self._store = ObjectStore()
        self._idempotency = IdempotencyCache()
        self._faults = FaultInjector()
        self._webhooks = WebhookDelivery(API_VERSION)
        self._realism = delivery
        self._webhooks.configure(delivery, self._store)
        self._router = Router()
        for register in RESOURCES:
            register(self._router)
        self._server: http_server.Server | None = None
        self._thread: threading.Thread | None = None
        # Work still running after its request was answered (test clock advances).
        self._background: list[threading.Thread] = []
        self._background_lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        if self._server is not None:
            raise RuntimeError("emulator already started")
        if self._realism is not None and self._webhooks.realism is None:
            self._webhooks.configure(self._realism, self._store)  # started again after stop
        server = http_server.Server((host, port), http_server.Handler)
        server.emulator = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            # shutdown() waits for the next poll, so a short interval keeps stop() fast.
            kwargs={"poll_interval": 0.05},
            name="stripe-emulator",
            daemon=True,
        )
        self._thread.start()
        return self.url

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("emulator not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        self._webhooks.stop()
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_connections()
        if thread is not None:
            thread.join(timeout=5)
        self._join_background()

    def __enter__(self) -> StripeEmulator:
        if self._server is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- test controls -----------------------------------------------------------------

    def reset(self) -> None:
        """Forget all objects, idempotency keys, faults, delays, the request log, the
        webhook delivery log and deliveries still queued (realistic mode, whose seed starts
        over). Forwarding targets (``forward_webhooks``) and the delivery mode stay.

        Background work still running (a test clock advancing) finishes first, so none of it
        lands in the fresh state."""
        self._join_background()
        with self._store.lock:
            self._store.clear()
        self._idempotency.clear()
        self._faults.clear()
        self._webhooks.reset()

    def forget_idempotency_keys(self) -> None:
        """Forgets every idempotency key, as Stripe does once a key is 24 hours old: a
        request sent again with one of them runs again (a retry that outlived its keys)."""
        self._idempotency.forget()

    # -- webhook delivery mode ---------------------------------------------------------

    @property
    def delivery(self) -> Realism | None:
        """The realistic delivery in force, or None for ordered delivery."""
        return self._realism

    def set_delivery(self, realism: Realism | None) -> None:
        """Switches between ordered (None) and realistic delivery; what is queued is
        delivered first."""
        self._realism = realism
        self._webhooks.configure(realism, self._store)

    def settle(self, timeout_s: float = SETTLE_TIMEOUT_S) -> None:
        """Returns once every event emitted so far has been delivered, its duplicates, late
        deliveries and retries included, and no API request is being answered; raises
        ``TimeoutError`` (naming the seed) after ``timeout_s``. Ordered mode: once the
        background work still running (a test clock advancing) is done."""
        if self._realism is None:
            self._join_background()
        self._webhooks.settle(timeout_s)

    def pending_deliveries(self) -> int:
        """Deliveries queued or being sent (realistic mode; always 0 in ordered mode)."""
        return self._webhooks.pending()

    def planned_deliveries(self) -> list[dict[str, Any]]:
        """What the seed decided for each delivery since the last reset, in emission order
        (realistic mode; empty in ordered mode)."""
        return [asdict(p) for p in self._webhooks.planned()]

    def undeliverable(self) -> list[dict[str, str]]:
        """Deliveries that failed every attempt since the last reset (realistic mode)."""
        return [
            {"event_id": d.event_id, "event_type": d.event_type, "endpoint": d.target.endpoint}
            for d in self._webhooks.given_up()
        ]

    def forward_webhooks(self, url: str, secret: str | None = None) -> str:
        """Delivers every event to ``url`` too, signed with ``secret`` (generated when
        None, and returned), like ``stripe listen --forward-to``; survives ``reset``."""
        secret = secret or webhook_endpoints.new_secret()
        self._webhooks.forward(url, secret, endpoint=f"forward:{url}")
        return secret

    def stop_forwarding_webhooks(self) -> None:
        self._webhooks.stop_forwarding()

    def deliveries(self) -> list[dict[str, Any]]:
        """Every webhook delivery attempt since the last reset, oldest first."""
        return self._webhooks.attempts()

    def redeliver(self, event_id: str) -> None:
        """Sends a stored event again to every endpoint that wants it, now, retried as in
        ordered mode (a duplicate, as Stripe's retries and "resend" produce), in either
        delivery mode: a test's own resend is its step, not Stripe's; raises
        ``StripeError`` for an unknown id."""
        with self._store.lock:
            deliveries = self._webhooks.redeliveries(self._store, event_id)
        self._webhooks.send(deliveries, self._store)

    def save(self, path: Path) -> None:
        """Writes every object to ``path`` (JSON); background work finishes first."""
        self._join_background()
        with self._store.lock:
            text = json.dumps(self._store.dump())
        path.write_text(text)

    def load(self, path: Path) -> None:
        """Takes back the objects ``save`` wrote: customers, cards, subscriptions, test
        clocks and invoices carry on where they were (idempotency keys and queued
        deliveries are not kept)."""
        dumped = json.loads(path.read_text())
        with self._store.lock:
            self._store.load(dumped)

    def count(self, object_type: str) -> int:
        """Live (non-deleted) objects of a type, e.g. ``count("customer")``."""
        with self._store.lock:
            return self._store.count(object_type)

    def counts(self) -> dict[str, int]:
        with self._store.lock:
            types = self._router.object_types | self._store.object_types()
            return {object_type: self._store.count(object_type) for object_type in sorted(types)}

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """Events recorded so far (oldest first), optionally only those of one type."""
        with self._store.lock:
            recorded = reversed(self._store.live("event"))
            return [e for e in recorded if event_type is None or e["type"] == event_type]

    def requests_made(self, method: str, path_prefix: str) -> int:
        """API requests received (including failed and replayed ones); ``"*"`` is any method."""
        return self._faults.requests_made(method, path_prefix)

    def fail_next(
        self, method: str, path_prefix: str, *, status: int = 500, times: int = 1
    ) -> None:
        """Answer the next ``times`` matching requests with an ``api_error``, changing nothing."""
        self._faults.fail_next(method, path_prefix, status, times)

    def delay(self, method: str, path_prefix: str, seconds: float) -> None:
        """Slow matching requests down by ``seconds`` until reset.

        The pause happens where Stripe would be doing the work: after the idempotency-key
        check (so a same-key request queues behind it) and outside the state lock (so
        other requests proceed in parallel). Replays are not delayed.
        """
        self._faults.delay(method, path_prefix, seconds)

    # -- request pipeline --------------------------------------------------------------

    def handle(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> HttpResponse:
        """Answer one HTTP request (the HTTP layer is a thin shell around this)."""
        method = method.upper()
        headers = {name.lower(): value for name, value in headers.items()}
        url = urlsplit(target)
        path = unquote(url.path)
        if path.startswith(CONTROL_PREFIX):
            return control.answer(self, method, path, url.query, body)
        # Realistic delivery waits for requests being answered: they may emit events.
        self._webhooks.request_began()
        try:
            return self._answer(method, path, url.query, headers, body)
        finally:
            self._webhooks.request_ended()

    def _answer(
        self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes
    ) -> HttpResponse:
        base_url = f"http://{headers['host']}" if headers.get("host") else self.url
        page = None if path.startswith("/v1/") else self._router.resolve_page(method, path)
        if page is not None:
            return self._page(page, method, path, query, body, base_url)
        request_id = f"req_{random_token()}"
        try:
            response = self._api(request_id, method, path, query, headers, body, base_url)
        except StripeError as error:
            response = wire.json_response(error.status, error.body())
        except Exception:
            traceback.print_exc(file=sys.stderr)
            response = wire.json_response(500, api_error().body())
        response.headers["Request-Id"] = request_id
        response.headers["Stripe-Version"] = headers.get("stripe-version") or API_VERSION
        return response

    def _api(
        self,
        request_id: str,
        method: str,
        path: str,
        query: str,
        headers: Mapping[str, str],
        body: bytes,
        base_url: str,
    ) -> HttpResponse:
        self._faults.record(method, path)
        failure = self._faults.take_failure(method, path)
        if failure is not None:
            raise api_error(failure, "Injected fault: the emulator failed this request on purpose.")
        wire.authenticate(headers.get("authorization"))
        params = wire.decode_params(method, query, headers, body)
        resolved = self._router.resolve(method, path)
        if resolved is None:
            raise unrecognized_url(method, path)
        handler, path_params = resolved
        outbox: list[Delivery] = []
        later: list[BackgroundJob] = []

        def execute() -> HttpResponse:
            pause = self._faults.delay_for(method, path)
            if pause:
                time.sleep(pause)
            with self._store.lock:
                request = ApiRequest(
                    method,
                    path,
                    params,
                    path_params,
                    self._store,
                    int(time.time()),
                    base_url,
                    deliver_pending=self._deliver_pending,
                    run_later=later.append,
                )
                response = wire.json_response(200, handler(request))
                cause = _cause(path, request_id, headers)
                outbox.extend(self._webhooks.take(self._store, cause))
            return response

        key = headers.get("idempotency-key")
        if method not in ("POST", "DELETE") or not key:
            response = execute()
        else:
            scope = f"{headers.get('stripe-account') or ''}\x00{key}"
            response = self._idempotent(request_id, scope, key, method, path, params, execute)
        # Outside every lock (a receiver may call back), before the caller gets its answer
        # (ordered), or queued to be delivered after it (realistic).
        self._webhooks.dispatch(outbox, self._store)
        for job in later:
            self._start_background(job)
        return response

    def _start_background(self, job: BackgroundJob) -> None:
        thread = threading.Thread(
            target=self._run_background, args=(job,), name="stripe-emulator-job", daemon=True
        )
        with self._background_lock:
            self._background = [each for each in self._background if each.is_alive()]
            self._background.append(thread)
        # Counted as a request being answered until done, so realistic delivery's settle()
        # waits for what the job emits.
        self._webhooks.request_began()
        thread.start()

    def _run_background(self, job: BackgroundJob) -> None:
        try:
            try:
                with self._store.lock:
                    job(self._deliver_pending)
                    outbox = self._webhooks.take(self._store, None)
            except Exception:
                traceback.print_exc(file=sys.stderr)
                with self._store.lock:
                    outbox = self._webhooks.take(self._store, None)
            self._webhooks.dispatch(outbox, self._store)
        finally:
            self._webhooks.request_ended()

    def _join_background(self) -> None:
        with self._background_lock:
            running, self._background = self._background, []
        for thread in running:
            # Generous: a job delivers webhooks to receivers that may be slow on a busy machine.
            thread.join(timeout=120)

    def _deliver_pending(self) -> None:
        """Called under the store lock (held once) by a handler that must wait for its
        webhooks: delivers what was emitted so far outside the lock, then takes it back."""
        taken = self._webhooks.take(self._store, None)
        self._store.lock.release()
        try:
            self._webhooks.deliver_now(taken, self._store)
        finally:
            self._store.lock.acquire()

    def _idempotent(
        self,
        request_id: str,
        scope: str,
        key: str,
        method: str,
        path: str,
        params: forms.Params,
        execute: Callable[[], HttpResponse],
    ) -> HttpResponse:
        if len(key) > _MAX_IDEMPOTENCY_KEY_LENGTH:
            raise invalid_param(
                "Idempotency-Key",
                f"Idempotency-Key must be at most {_MAX_IDEMPOTENCY_KEY_LENGTH} characters.",
            )
        fingerprint = json.dumps(params, sort_keys=True)
        with self._idempotency.lock(scope):
            saved = self._idempotency.get(scope)
            if saved is not None:
                return wire.replay(saved, key, method, path, fingerprint)
            try:
                response = execute()
            except StripeError as error:
                if error.status >= 500 or not error.replayable:
                    raise
                response = wire.json_response(error.status, error.body())
            if response.status < 500:
                self._idempotency.save(
                    scope,
                    SavedResponse(
                        method, path, fingerprint, response.status, response.body, request_id
                    ),
                )
            response.headers["Idempotency-Key"] = key
            return response

    # -- hosted pages (HTML for a browser or a test posting forms) ------------------------

    def _page(
        self,
        resolved: tuple[PageHandler, dict[str, str]],
        method: str,
        path: str,
        query: str,
        body: bytes,
        base_url: str,
    ) -> HttpResponse:
        handler, path_params = resolved
        try:
            form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
            with self._store.lock:
                request = PageRequest(
                    method,
                    path,
                    path_params,
                    dict(parse_qsl(query, keep_blank_values=True)),
                    form,
                    self._store,
                    int(time.time()),
                    base_url,
                )
                status, page, extra = handler(request)
                outbox = self._webhooks.take(self._store)
        except StripeError as error:
            return wire.html_response(error.status, "Error", error.message)
        except UnicodeDecodeError:
            return wire.html_response(400, "Bad request", "The form body is not UTF-8.")
        except Exception:
            traceback.print_exc(file=sys.stderr)
            return wire.html_response(500, "Error", "The emulator failed to render this page.")
        # As for API requests: outside the lock, before the browser sees the answer (ordered)
        # or after it (realistic).
        self._webhooks.dispatch(outbox, self._store)
        return HttpResponse(
            status, page.encode(), {"Content-Type": "text/html; charset=utf-8", **extra}
        )


def _cause(path: str, request_id: str, headers: Mapping[str, str]) -> dict[str, Any] | None:
    """The request an event names as its cause. What a test clock replays happens "later",
    caused by no request (Stripe: null)."""
    if path.startswith("/v1/test_helpers/"):
        return None
    return {"id": request_id, "idempotency_key": headers.get("idempotency-key")}
