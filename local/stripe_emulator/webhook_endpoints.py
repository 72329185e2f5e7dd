"""The WebhookEndpoint resource: ``/v1/webhook_endpoints``.

An endpoint's signing ``secret`` is shown once, in the answer to its creation, as Stripe
does; it is kept on the stored object for delivery (see ``delivery``) and left out of every
other answer.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from local.stripe_emulator import pagination
from local.stripe_emulator import params as p
from local.stripe_emulator.errors import invalid_param, missing_param
from local.stripe_emulator.forms import Params
from local.stripe_emulator.routing import ApiRequest, Router
from local.stripe_emulator.store import JsonObject

OBJECT = "webhook_endpoint"
URL = "/v1/webhook_endpoints"
ALL_EVENTS = "*"

_UPDATABLE = frozenset({"description", "disabled", "enabled_events", "metadata", "url"})
_CREATABLE = _UPDATABLE - {"disabled"} | {"api_version", "connect"}


def register(router: Router) -> None:
    router.object_types.add(OBJECT)
    router.add("POST", URL, create)
    router.add("GET", URL, list_endpoints)
    router.add("GET", f"{URL}/{{id}}", retrieve)
    router.add("POST", f"{URL}/{{id}}", update)
    router.add("DELETE", f"{URL}/{{id}}", delete)


def new_secret() -> str:
    return f"whsec_{secrets.token_hex(16)}"


def wants(endpoint: JsonObject, event_type: str) -> bool:
    """Whether an enabled endpoint subscribes to ``event_type``."""
    if endpoint["status"] != "enabled":
        return False
    enabled = endpoint["enabled_events"]
    return ALL_EVENTS in enabled or event_type in enabled


def create(request: ApiRequest) -> JsonObject:
    params = request.params
    p.reject_unknown(params, _CREATABLE)
    for required in ("url", "enabled_events"):
        if required not in params:
            raise missing_param(required)
    endpoint: JsonObject = {
        "id": request.store.new_id("we", 24),
        "object": OBJECT,
        "api_version": None,
        "application": None,
        "created": request.now,
        "description": None,
        "enabled_events": [],
        "livemode": False,
        "metadata": {},
        "secret": new_secret(),
        "status": "enabled",
        "url": "",
    }
    _apply(endpoint, params)
    if "api_version" in params:
        endpoint["api_version"] = p.nullable_string(params, "api_version")
    # The only answer that carries the secret.
    return dict(request.store.insert(endpoint))


def retrieve(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, ())
    return _public(request.store.require(OBJECT, request.path_params["id"]))


def update(request: ApiRequest) -> JsonObject:
    endpoint = request.store.require(OBJECT, request.path_params["id"])
    p.reject_unknown(request.params, _UPDATABLE)
    updated = dict(endpoint)
    _apply(updated, request.params)
    if "disabled" in request.params:
        updated["status"] = "disabled" if p.boolean(request.params, "disabled") else "enabled"
    endpoint.update(updated)
    return _public(endpoint)


def delete(request: ApiRequest) -> JsonObject:
    endpoint_id = request.path_params["id"]
    request.store.delete(OBJECT, endpoint_id)
    return {"id": endpoint_id, "object": OBJECT, "deleted": True}


def list_endpoints(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, {"limit", "starting_after", "ending_before"})
    endpoints = [_public(e) for e in request.store.live(OBJECT)]
    return pagination.list_page(request.store, OBJECT, endpoints, request.params, URL)


def _public(endpoint: JsonObject) -> JsonObject:
    return {k: v for k, v in endpoint.items() if k != "secret"}


def _apply(endpoint: JsonObject, params: Params) -> None:
    if "url" in params:
        endpoint["url"] = _url(params)
    if "enabled_events" in params:
        events = p.string_list(params, "enabled_events")
        if not events:
            raise invalid_param("enabled_events", "You must specify at least one event type.")
        for index, event_type in enumerate(events):
            if event_type != ALL_EVENTS and "." not in event_type:
                raise invalid_param(
                    f"enabled_events[{index}]", f"Invalid enabled_events[{index}]: {event_type}"
                )
        endpoint["enabled_events"] = events
    if "description" in params:
        endpoint["description"] = p.nullable_string(params, "description")
    if "metadata" in params:
        endpoint["metadata"] = p.apply_metadata(endpoint["metadata"], params["metadata"])


def _url(params: Params) -> str:
    url = p.non_empty_string(params, "url", max_length=2048)
    parts = urlsplit(url)
    # Real Stripe wants a public https URL; locally, receivers are plain http on localhost.
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid_param("url", f"Invalid URL: {url}", "url_invalid")
    return url
