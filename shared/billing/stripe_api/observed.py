"""Every request to Stripe counted and timed, by outcome: the SDK's HTTP client, which every
call of every resource module goes through (with the SDK's own retries inside it), is
wrapped once, where `call.connect` makes it.

Outcomes: `ok` (2xx), `refused` (a 4xx: Stripe read the request and said no, as for a
declined card), `rate_limited` (429), `server_error` (5xx) and `unreachable` (no answer
after the retries). The last three are Stripe's trouble, not the caller's: the
`StripeErrorRateAlarm` watches their share.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from billing import observability

if TYPE_CHECKING:
    import stripe


def observed(client: stripe.HTTPClient) -> stripe.HTTPClient:
    send = client.request_with_retries

    def request_with_retries(
        method: str,
        url: str,
        headers: Mapping[str, str],
        post_data: Any = None,
        max_network_retries: int | None = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[str, int, Mapping[str, str]]:
        started = time.perf_counter()
        outcome = "unreachable"
        try:
            answer = send(method, url, headers, post_data, max_network_retries, _usage=_usage)
            outcome = outcome_of(answer[1])
            return answer
        finally:
            took_ms = (time.perf_counter() - started) * 1000
            observability.count("StripeCalls", outcome=outcome)
            observability.milliseconds("StripeCallLatency", took_ms, outcome=outcome)

    client.request_with_retries = request_with_retries  # type: ignore[method-assign]
    return client


def outcome_of(status: int) -> str:
    if status < 400:
        return "ok"
    if status == 429:
        return "rate_limited"
    if status < 500:
        return "refused"
    return "server_error"
