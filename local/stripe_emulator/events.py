"""Stripe events: every state change the emulator makes is recorded as an `event` object.

Resource modules call `emit` while they hold the store lock; the server delivers what was
emitted to the registered webhook endpoints after the handler returns (outside the lock, so a
receiver may call back into the emulator).
"""

from __future__ import annotations

import copy
from typing import Any

from local.stripe_emulator.store import JsonObject, ObjectStore


def emit(
    store: ObjectStore,
    event_type: str,
    obj: JsonObject,
    now: int,
    previous_attributes: dict[str, Any] | None = None,
) -> JsonObject:
    """Records `event_type` about a snapshot of `obj` as it is now, and queues its delivery."""
    data: JsonObject = {"object": copy.deepcopy(obj)}
    if previous_attributes is not None:
        data["previous_attributes"] = copy.deepcopy(previous_attributes)
    event: JsonObject = {
        "id": store.new_id("evt", 24),
        "object": "event",
        "api_version": None,
        "created": now,
        "data": data,
        "livemode": False,
        "pending_webhooks": 0,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }
    store.insert(event)
    store.undelivered.append(event["id"])
    return event
