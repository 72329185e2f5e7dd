"""Subscription items: ``/v1/subscription_items``.

An item is part of its subscription, so every change here is the subscription update that
makes the same change (``items[0][id]=...``): the same prorations, payment behaviours,
pending updates and ``customer.subscription.updated`` event, from the same code path.
"""

from __future__ import annotations

import dataclasses

from local.stripe_emulator import pagination, subscriptions
from local.stripe_emulator import params as p
from local.stripe_emulator.errors import StripeError, missing_param
from local.stripe_emulator.forms import Params
from local.stripe_emulator.routing import ApiRequest, Router
from local.stripe_emulator.store import JsonObject, ObjectStore

OBJECT = "subscription_item"
URL = "/v1/subscription_items"

# What the subscription update takes as it is; the item's own fields go into ``items[0]``.
_UPDATE_PASSTHROUGH = ("off_session", "payment_behavior", "proration_behavior", "proration_date")
_ITEM_FIELDS = ("metadata", "price", "quantity")
_UPDATABLE = frozenset(_UPDATE_PASSTHROUGH + _ITEM_FIELDS)
_CREATABLE = _UPDATABLE | {"subscription"}
_DELETABLE = frozenset({"clear_usage", "payment_behavior", "proration_behavior", "proration_date"})


def register(router: Router) -> None:
    router.object_types.add(OBJECT)
    router.add("POST", URL, create)
    router.add("GET", URL, list_items)
    router.add("GET", f"{URL}/{{id}}", retrieve)
    router.add("POST", f"{URL}/{{id}}", update)
    router.add("DELETE", f"{URL}/{{id}}", delete)


def retrieve(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, ())
    return request.store.require(OBJECT, request.path_params["id"], "item")


def update(request: ApiRequest) -> JsonObject:
    params, store = request.params, request.store
    p.reject_unknown(params, _UPDATABLE)
    item = store.require(OBJECT, request.path_params["id"], "item")
    change: Params = {"id": item["id"]}
    change.update({name: params[name] for name in _ITEM_FIELDS if name in params})
    subscription = _update_subscription(request, item["subscription"], [change], params)
    # Under ``pending_if_incomplete`` the item stays as it was until the invoice is paid.
    return _item_of(subscription, item["id"]) or item


def create(request: ApiRequest) -> JsonObject:
    params, store = request.params, request.store
    p.reject_unknown(params, _CREATABLE)
    if "subscription" not in params:
        raise missing_param("subscription")
    subscription_id = p.string(params, "subscription")
    if "price" not in params:
        raise missing_param("price")
    before = {item["id"] for item in _current(store, subscription_id)["items"]["data"]}
    addition: Params = {name: params[name] for name in _ITEM_FIELDS if name in params}
    subscription = _update_subscription(request, subscription_id, [addition], params)
    added = [item for item in subscription["items"]["data"] if item["id"] not in before]
    if added:
        return dict(added[0])
    # Pending (``pending_if_incomplete``): the item exists once the invoice is paid.
    pending = subscription["pending_update"] or {"subscription_items": []}
    return dict(pending["subscription_items"][-1])


def delete(request: ApiRequest) -> JsonObject:
    params, store = request.params, request.store
    p.reject_unknown(params, _DELETABLE)
    item = store.require(OBJECT, request.path_params["id"], "item")
    removal: Params = {"id": item["id"], "deleted": "true"}
    if "clear_usage" in params:
        removal["clear_usage"] = params["clear_usage"]
    rest = {k: v for k, v in params.items() if k != "clear_usage"}
    _update_subscription(request, item["subscription"], [removal], rest)
    return {"id": item["id"], "object": OBJECT, "deleted": True}


def list_items(request: ApiRequest) -> JsonObject:
    params = request.params
    p.reject_unknown(params, pagination.LIST_PARAMS | {"subscription"})
    if "subscription" not in params:
        raise missing_param("subscription")
    subscription = _current(request.store, p.string(params, "subscription"))
    items = list(reversed(subscription["items"]["data"]))
    return pagination.list_page(request.store, OBJECT, items, params, URL)


def _current(store: ObjectStore, subscription_id: str) -> JsonObject:
    return store.require(subscriptions.OBJECT, subscription_id, "subscription")


def _update_subscription(
    request: ApiRequest, subscription_id: str, items: list[Params], params: Params
) -> JsonObject:
    """Runs ``POST /v1/subscriptions/{id}`` with ``items`` and the pass-through parameters."""
    _current(request.store, subscription_id)
    forwarded: Params = {name: params[name] for name in _UPDATE_PASSTHROUGH if name in params}
    forwarded["items"] = list(items)
    try:
        subscriptions.update(
            dataclasses.replace(request, params=forwarded, path_params={"id": subscription_id})
        )
    except StripeError as error:
        # Name the parameter as this request called it: ``quantity``, not ``items[0][quantity]``.
        if error.param is not None and error.param.startswith("items[0]["):
            error.param = error.param.removeprefix("items[0][").replace("]", "", 1)
        raise
    return _current(request.store, subscription_id)


def _item_of(subscription: JsonObject, item_id: str) -> JsonObject | None:
    return next((i for i in subscription["items"]["data"] if i["id"] == item_id), None)
