"""The Customer resource: ``/v1/customers``."""

from __future__ import annotations

import secrets

from local.stripe_emulator import (
    events,
    pagination,
    payment_methods,
    search,
    subscription_billing,
    subscription_objects,
    timeline,
)
from local.stripe_emulator import params as p
from local.stripe_emulator.errors import invalid_param, missing_param
from local.stripe_emulator.forms import Params
from local.stripe_emulator.routing import ApiRequest, Router
from local.stripe_emulator.store import JsonObject, ObjectStore

OBJECT = "customer"
URL = "/v1/customers"

_ADDRESS_FIELDS = ("city", "country", "line1", "line2", "postal_code", "state")
_NULLABLE_STRINGS = ("email", "name", "description", "phone", "business_name", "individual_name")
_INVOICE_SETTINGS_FIELDS = (
    "default_payment_method",
    "custom_fields",
    "footer",
    "rendering_options",
)
_RENDERING_OPTIONS = ("amount_tax_display", "template")
_WRITABLE = frozenset(
    {
        *_NULLABLE_STRINGS,
        "address",
        "balance",
        "invoice_prefix",
        "invoice_settings",
        "metadata",
        "next_invoice_sequence",
        "preferred_locales",
        "shipping",
        "tax_exempt",
    }
)


def register(router: Router) -> None:
    router.object_types.add(OBJECT)
    router.add("POST", URL, create)
    router.add("GET", URL, list_customers)
    router.add("GET", f"{URL}/search", search_customers)
    router.add("GET", f"{URL}/{{id}}", retrieve)
    router.add("POST", f"{URL}/{{id}}", update)
    router.add("DELETE", f"{URL}/{{id}}", delete)


def create(request: ApiRequest) -> JsonObject:
    params, store = request.params, request.store
    p.reject_unknown(params, _WRITABLE | {"payment_method", "test_clock"})
    clock_id = _test_clock(store, params)
    now = request.now
    if clock_id is not None:
        now = int(store.require(timeline.CLOCK_OBJECT, clock_id, "test_clock")["frozen_time"])
    customer: JsonObject = {
        "id": store.new_id("cus"),
        "object": OBJECT,
        "address": None,
        "balance": 0,
        "business_name": None,
        "created": now,
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "discount": None,
        "email": None,
        "individual_name": None,
        "invoice_prefix": secrets.token_hex(4).upper(),
        "invoice_settings": dict.fromkeys(_INVOICE_SETTINGS_FIELDS),
        "livemode": False,
        "metadata": {},
        "name": None,
        "next_invoice_sequence": 1,
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": clock_id,
    }
    # Validate everything before storing so a 400 leaves no half-created customer.
    _apply(customer, params)
    payment_method = None
    if "payment_method" in params:
        payment_method = payment_methods.resolve(
            store, now, p.string(params, "payment_method"), "payment_method"
        )
        default = customer["invoice_settings"]["default_payment_method"]
        if default == params["payment_method"]:
            # ``pm_card_visa`` given twice names the one card this request creates.
            customer["invoice_settings"]["default_payment_method"] = payment_method["id"]
    _check_default(store, customer, payment_method)
    store.insert(customer)
    events.emit(store, "customer.created", customer, now)
    if payment_method is not None:
        payment_methods.attach_to(store, payment_method, customer["id"], now)
    return customer


def retrieve(request: ApiRequest) -> JsonObject:
    customer_id = request.path_params["id"]
    p.reject_unknown(request.params, ())
    if request.store.find(OBJECT, customer_id) is not None and request.store.is_deleted(
        customer_id
    ):
        # Stripe answers 200 with a tombstone, not 404, for a deleted customer.
        return _tombstone(customer_id)
    return request.store.require(OBJECT, customer_id)


def update(request: ApiRequest) -> JsonObject:
    customer = request.store.require(OBJECT, request.path_params["id"])
    p.reject_unknown(request.params, _WRITABLE)
    # Work on a copy so a validation error half-way through changes nothing.
    updated = {**customer, "invoice_settings": dict(customer["invoice_settings"])}
    _apply(updated, request.params)
    _check_default(request.store, updated, None)
    previous = {k: v for k, v in customer.items() if updated[k] != v}
    customer.update(updated)
    if previous:
        now = timeline.now_for(request.store, customer["id"], request.now)
        events.emit(request.store, "customer.updated", customer, now, previous)
    return customer


def delete(request: ApiRequest) -> JsonObject:
    customer_id = request.path_params["id"]
    customer = request.store.require(OBJECT, customer_id)
    now = timeline.now_for(request.store, customer_id, request.now)
    # Stripe cancels a deleted customer's subscriptions at once.
    for subscription in request.store.live(subscription_objects.OBJECT):
        if subscription["customer"] == customer_id and subscription["status"] not in (
            "canceled",
            "incomplete_expired",
        ):
            subscription_billing.cancel(
                request.store, subscription, now, reason="cancellation_requested"
            )
    request.store.delete(OBJECT, customer_id)
    events.emit(request.store, "customer.deleted", customer, now)
    return _tombstone(customer_id)


def list_customers(request: ApiRequest) -> JsonObject:
    params = request.params
    p.reject_unknown(params, {*pagination.LIST_PARAMS, "email"})
    in_range = pagination.created_filter(params)
    # Stripe's list filter on email is an exact, case-sensitive match.
    email = p.string(params, "email", max_length=512) if "email" in params else None
    customers = [
        c
        for c in request.store.live(OBJECT)
        if in_range(c) and (email is None or c["email"] == email)
    ]
    return pagination.list_page(request.store, OBJECT, customers, params, URL)


def search_customers(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, search.SEARCH_PARAMS)
    return search.search_page(
        request.store.live(OBJECT),
        request.params,
        f"{URL}/search",
        resource="customers",
        string_fields=("email", "name", "phone"),
    )


def _test_clock(store: ObjectStore, params: Params) -> str | None:
    if "test_clock" not in params:
        return None
    clock_id = p.string(params, "test_clock")
    clock = store.find(timeline.CLOCK_OBJECT, clock_id)
    if clock is None or store.is_deleted(clock_id):
        raise invalid_param(
            "test_clock", f"No such test_helpers.test_clock: '{clock_id}'", "resource_missing"
        )
    return clock_id


def _check_default(store: ObjectStore, customer: JsonObject, attaching: JsonObject | None) -> None:
    """A default payment method must belong to the customer (or be attached by this call)."""
    default = customer["invoice_settings"]["default_payment_method"]
    if default is None or (attaching is not None and attaching["id"] == default):
        return
    payment_method = store.find(payment_methods.OBJECT, default)
    if payment_method is None or payment_method["customer"] != customer["id"]:
        raise payment_methods.invalid_default(
            "invoice_settings[default_payment_method]", default, customer["id"]
        )


def _tombstone(customer_id: str) -> JsonObject:
    return {"id": customer_id, "object": OBJECT, "deleted": True}


def _apply(customer: JsonObject, params: Params) -> None:
    for field in _NULLABLE_STRINGS:
        if field in params:
            customer[field] = p.nullable_string(params, field, max_length=512)
    if customer["email"] is not None and "@" not in customer["email"]:
        raise invalid_param("email", f"Invalid email address: {customer['email']}", "email_invalid")
    if "metadata" in params:
        customer["metadata"] = p.apply_metadata(customer["metadata"], params["metadata"])
    if "address" in params:
        customer["address"] = p.string_hash(params, "address", _ADDRESS_FIELDS)
    if "shipping" in params:
        customer["shipping"] = _shipping(params)
    if "balance" in params:
        customer["balance"] = p.integer(params, "balance")
    if "invoice_prefix" in params:
        prefix = p.string(params, "invoice_prefix")
        if not (3 <= len(prefix) <= 12 and prefix.isalnum() and prefix == prefix.upper()):
            raise invalid_param(
                "invoice_prefix", "Invoice prefix must be 3-12 uppercase letters or numbers."
            )
        customer["invoice_prefix"] = prefix
    if "next_invoice_sequence" in params:
        customer["next_invoice_sequence"] = p.integer(params, "next_invoice_sequence", minimum=1)
    if "preferred_locales" in params:
        customer["preferred_locales"] = p.string_list(params, "preferred_locales")
    if "tax_exempt" in params:
        customer["tax_exempt"] = p.choice(params, "tax_exempt", ("none", "exempt", "reverse"))
    if "invoice_settings" in params:
        _apply_invoice_settings(customer["invoice_settings"], params)


def _shipping(params: Params) -> JsonObject | None:
    raw = p.hash_or_null(params, "shipping")
    if raw is None:
        return None
    p.reject_unknown(raw, ("address", "name", "phone"), prefix="shipping")
    for required in ("address", "name"):
        if not raw.get(required):
            raise missing_param(f"shipping[{required}]")
    return {
        "address": p.string_hash(raw, "address", _ADDRESS_FIELDS),
        "name": p.string(raw, "name"),
        "phone": p.nullable_string(raw, "phone") if "phone" in raw else None,
    }


def _apply_invoice_settings(settings: JsonObject, params: Params) -> None:
    raw = p.hash_or_null(params, "invoice_settings")
    if raw is None:
        raise invalid_param("invoice_settings", "invoice_settings cannot be unset.")
    p.reject_unknown(raw, _INVOICE_SETTINGS_FIELDS, prefix="invoice_settings")
    for field in ("default_payment_method", "footer"):
        if field in raw:
            settings[field] = p.nullable_string(raw, field)
    if "custom_fields" in raw:
        fields = raw["custom_fields"]
        if fields == "":
            settings["custom_fields"] = None
        elif isinstance(fields, list) and all(
            isinstance(f, dict) and set(f) == {"name", "value"} for f in fields
        ):
            settings["custom_fields"] = fields
        else:
            raise invalid_param(
                "invoice_settings[custom_fields]", "custom_fields must be a list of name/value."
            )
    if "rendering_options" in raw:
        options = p.hash_or_null(raw, "rendering_options")
        if options is not None:
            p.reject_unknown(options, _RENDERING_OPTIONS, "invoice_settings[rendering_options]")
            settings["rendering_options"] = {
                f: p.nullable_string(options, f) if f in options else None
                for f in _RENDERING_OPTIONS
            }
        else:
            settings["rendering_options"] = None
