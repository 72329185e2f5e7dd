"""Stripe faults for the fault matrix: errors answered by the emulator (its `fail_next`), and
timeouts, where Stripe does the request but its answer never reaches the billing layer.

A timeout is injected in the stripe SDK's HTTP client the billing layer builds: the request
is sent over HTTP and applied by the emulator, then the SDK is told the connection timed out
(as its own client would after its timeout), so it retries with the same idempotency key, as
it does against Stripe. No wait: the loss is immediate, not a slow answer."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import stripe


@dataclass
class Lost:
    """Answers of requests matching `method` and `path_prefix` lost: the first `times`."""

    method: str
    path_prefix: str
    times: int
    lost: int = 0

    @property
    def fired(self) -> int:
        return self.lost


@contextmanager
def answers_lost(method: str, path_prefix: str, times: int = 3) -> Iterator[Lost]:
    """While inside, the billing layer's Stripe client loses the answers of the first `times`
    matching requests (3: the SDK's try and both its retries, so the caller sees it)."""
    from billing.stripe_api import gateway

    rule = Lost(method.upper(), path_prefix, times)
    lock = threading.Lock()
    original = stripe.new_default_http_client
    base: Any = type(original())

    class Losing(base):  # type: ignore[misc]
        def request(self, method: str, url: str, headers: Any, post_data: Any = None) -> Any:
            answer = super().request(method, url, headers, post_data)
            with lock:
                hit = (
                    method.upper() == rule.method
                    and urlsplit(url).path.startswith(rule.path_prefix)
                    and rule.lost < rule.times
                )
                if hit:
                    rule.lost += 1
            if hit:
                raise stripe.APIConnectionError(  # type: ignore[no-untyped-call]
                    "Injected: the answer timed out", should_retry=True
                )
            return answer

    def losing_client(*args: Any, **kwargs: Any) -> Any:
        return Losing(*args, **kwargs)

    stripe.new_default_http_client = losing_client
    gateway.gateway.cache_clear()
    try:
        yield rule
    finally:
        stripe.new_default_http_client = original
        gateway.gateway.cache_clear()
