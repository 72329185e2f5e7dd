"""Stripe's cursor pagination for list endpoints."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from local.stripe_emulator import params as p
from local.stripe_emulator.errors import invalid_param, no_such
from local.stripe_emulator.forms import Params
from local.stripe_emulator.store import JsonObject, ObjectStore

LIST_PARAMS = frozenset({"limit", "starting_after", "ending_before", "created"})

_RANGE_OPERATORS: dict[str, Callable[[int, int], bool]] = {
    "gt": lambda value, bound: value > bound,
    "gte": lambda value, bound: value >= bound,
    "lt": lambda value, bound: value < bound,
    "lte": lambda value, bound: value <= bound,
}


def limit(params: Params) -> int:
    return p.integer(params, "limit", minimum=1, maximum=100) if "limit" in params else 10


def created_filter(params: Params) -> Callable[[JsonObject], bool]:
    """``created=<ts>`` or ``created[gte]=<ts>`` style range filters."""
    if "created" not in params:
        return lambda _obj: True
    raw = params["created"]
    if isinstance(raw, str):
        exact = p.integer(params, "created")
        return lambda obj: bool(obj["created"] == exact)
    if not isinstance(raw, dict):
        raise invalid_param("created", "Invalid created: must be an integer or a hash")
    p.reject_unknown(raw, _RANGE_OPERATORS, prefix="created")
    bounds = [(_RANGE_OPERATORS[op], p.integer(raw, op)) for op in raw]
    return lambda obj: all(test(obj["created"], bound) for test, bound in bounds)


def list_page(
    store: ObjectStore, object_type: str, objects: Sequence[JsonObject], params: Params, url: str
) -> JsonObject:
    """One page of ``objects`` (already filtered, newest first) as a Stripe list object.

    Cursors are resolved through the store's creation order rather than the filtered
    sequence, so a cursor object that a filter excludes still pages correctly.
    """
    size = limit(params)
    if "starting_after" in params and "ending_before" in params:
        raise invalid_param("ending_before", "Use only one of ending_before and starting_after.")
    candidates = list(objects)
    if "starting_after" in params:
        cursor = _cursor(store, object_type, params, "starting_after")
        candidates = [obj for obj in candidates if _seq(store, obj) < cursor]
        return _list_object(candidates[:size], len(candidates) > size, url)
    if "ending_before" in params:
        cursor = _cursor(store, object_type, params, "ending_before")
        candidates = [obj for obj in candidates if _seq(store, obj) > cursor]
        # The page is the ``size`` objects immediately newer than the cursor.
        return _list_object(candidates[-size:], len(candidates) > size, url)
    return _list_object(candidates[:size], len(candidates) > size, url)


def _cursor(store: ObjectStore, object_type: str, params: Params, name: str) -> int:
    object_id = p.string(params, name)
    sequence = store.sequence(object_id)
    if sequence is None:
        raise no_such(object_type, object_id, name)
    return sequence


def _seq(store: ObjectStore, obj: JsonObject) -> int:
    sequence = store.sequence(obj["id"])
    assert sequence is not None, "listed objects are always stored"
    return sequence


def _list_object(data: list[JsonObject], has_more: bool, url: str) -> JsonObject:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}
