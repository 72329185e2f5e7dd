"""Stripe events: every state change the emulator makes is recorded as an `event` object.

Resource modules call `emit` while they hold the store lock; the server delivers what was
emitted to the registered webhook endpoints after the handler returns (outside the lock, so a
receiver may call back into the emulator). ``GET /v1/events`` lists them newest first.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from typing import Any

from local.stripe_emulator import pagination, shapes
from local.stripe_emulator import params as p
from local.stripe_emulator.errors import invalid_param
from local.stripe_emulator.forms import Params
from local.stripe_emulator.routing import ApiRequest, Router
from local.stripe_emulator.store import JsonObject, ObjectStore

OBJECT = "event"
URL = "/v1/events"
_MAX_TYPES = 20


def emit(
    store: ObjectStore,
    event_type: str,
    obj: JsonObject,
    now: int,
    previous_attributes: dict[str, Any] | None = None,
) -> JsonObject:
    """Records `event_type` about a snapshot of `obj` as it is now, and queues its delivery."""
    # A snapshot, with the fields Stripe sends that the emulator does not model.
    data: JsonObject = {"object": shapes.conform(obj)}
    if previous_attributes is not None:
        data["previous_attributes"] = shapes.conform(previous_attributes)
    event: JsonObject = {
        "id": store.new_id("evt", 24),
        "object": OBJECT,
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


def register(router: Router) -> None:
    router.object_types.add(OBJECT)
    router.add("GET", URL, list_events)
    router.add("GET", f"{URL}/{{id}}", retrieve)


def retrieve(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, ())
    return request.store.require(OBJECT, request.path_params["id"])


def list_events(request: ApiRequest) -> JsonObject:
    params = request.params
    p.reject_unknown(params, {*pagination.LIST_PARAMS, "type", "types", "delivery_success"})
    if "type" in params and "types" in params:
        raise invalid_param("types", "You may only specify one of these parameters: type, types.")
    in_range = pagination.created_filter(params)
    wanted = _type_filter(params)
    delivered = p.boolean(params, "delivery_success") if "delivery_success" in params else None
    events = [
        event
        for event in request.store.live(OBJECT)
        if in_range(event)
        and wanted(event["type"])
        # Stripe: true lists events every endpoint has received; false the ones still pending.
        and (delivered is None or (event["pending_webhooks"] == 0) == delivered)
    ]
    return pagination.list_page(request.store, OBJECT, events, params, URL)


def _type_filter(params: Params) -> Callable[[str], bool]:
    """``type``: one type or a wildcard (``invoice.*``); ``types[]``: up to 20 exact types."""
    if "type" in params:
        pattern = p.non_empty_string(params, "type")
        return lambda event_type: fnmatch.fnmatchcase(event_type, pattern)
    if "types" in params:
        types = set(p.string_list(params, "types"))
        if len(types) > _MAX_TYPES:
            raise invalid_param("types", f"You may pass at most {_MAX_TYPES} types.")
        return lambda event_type: event_type in types
    return lambda _event_type: True
