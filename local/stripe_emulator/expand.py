"""Stripe's ``expand[]``: replace an id in a response by the object it names, at any depth.

``expand[]=latest_invoice.payments.data.payment.payment_intent`` walks fields, steps into
a list's ``data``, and swaps each id it reaches for the stored object. A few fields are
"includable": absent unless expanded (an invoice's ``payments``); their owners register
how to compute them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from local.stripe_emulator import params as p
from local.stripe_emulator.errors import invalid_param
from local.stripe_emulator.forms import Params
from local.stripe_emulator.store import JsonObject, ObjectStore

# Id prefix -> object type, for turning an id back into its stored object.
_TYPES_BY_PREFIX = {
    "cus": "customer",
    "pm": "payment_method",
    "pi": "payment_intent",
    "seti": "setup_intent",
    "ch": "charge",
    "re": "refund",
    "cn": "credit_note",
    "cbtxn": "customer_balance_transaction",
    "in": "invoice",
    "ii": "invoiceitem",
    "inpay": "invoice_payment",
    "sub": "subscription",
    "si": "subscription_item",
    "sub_sched": "subscription_schedule",
    "price": "price",
    "prod": "product",
    "clock": "test_helpers.test_clock",
}

Includer = Callable[[ObjectStore, JsonObject], Any]
_INCLUDABLE: dict[tuple[str, str], Includer] = {}

_MAX_DEPTH = 4


def includable(object_type: str, field: str, compute: Includer) -> None:
    _INCLUDABLE[(object_type, field)] = compute


def requested(params: Params) -> list[str]:
    paths = p.string_list(params, "expand") if "expand" in params else []
    for path in paths:
        if path.count(".") >= _MAX_DEPTH:
            raise invalid_param(
                "expand", f"You cannot expand more than {_MAX_DEPTH} levels of a property."
            )
    return paths


def render(store: ObjectStore, obj: JsonObject, paths: Iterable[str]) -> JsonObject:
    """``obj`` with ``paths`` expanded; the stored object itself is never changed."""
    tree: dict[str, Any] = {}
    for path in paths:
        node = tree
        for segment in path.split("."):
            node = node.setdefault(segment, {})
    shown = _apply(store, obj, tree)
    assert isinstance(shown, dict)
    return shown


def lookup(store: ObjectStore, object_id: str) -> JsonObject | None:
    prefix = object_id.rpartition("_")[0]
    object_type = _TYPES_BY_PREFIX.get(prefix)
    return None if object_type is None else store.find(object_type, object_id)


def _apply(store: ObjectStore, value: Any, tree: dict[str, Any]) -> Any:
    if not tree or not isinstance(value, dict):
        return value
    shown = dict(value)
    for segment, subtree in tree.items():
        if segment == "data" and shown.get("object") in ("list", "search_result"):
            shown["data"] = [_apply(store, item, subtree) for item in shown["data"]]
            continue
        include = _INCLUDABLE.get((str(shown.get("object")), segment))
        if include is not None:
            shown[segment] = include(store, value)
        if segment not in shown:
            raise invalid_param("expand", f"This property cannot be expanded ({segment}).")
        target = shown[segment]
        if isinstance(target, str):
            found = lookup(store, target)
            if found is None:
                raise invalid_param("expand", f"This property cannot be expanded ({segment}).")
            target = found
        shown[segment] = _apply(store, target, subtree)
    return shown
