"""Signed Stripe webhook deliveries, as Stripe sends them, for the tests."""

from __future__ import annotations

import json
import time
from typing import Any

from billing.stripe_api.webhooks import signature_header
from local.stack import DEFAULT_WEBHOOK_SECRET


def stripe_event(
    event_id: str = "evt_test_1",
    event_type: str = "charge.succeeded",
    obj: dict[str, Any] | None = None,
    created: int = 1_790_000_000,
) -> bytes:
    body = {
        "id": event_id,
        "object": "event",
        "api_version": "2025-01-27.acacia",
        "created": created,
        "data": {"object": obj or {"id": "ch_test_1", "object": "charge", "amount": 999}},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }
    return json.dumps(body, indent=2).encode()


def signed(
    payload: bytes, secret: str = DEFAULT_WEBHOOK_SECRET, at: int | None = None
) -> dict[str, str]:
    """The headers of Stripe's delivery of `payload`, signed `at` (now by default)."""
    timestamp = int(time.time()) if at is None else at
    return {
        "Content-Type": "application/json; charset=utf-8",
        "Stripe-Signature": signature_header(payload, secret, timestamp),
    }
