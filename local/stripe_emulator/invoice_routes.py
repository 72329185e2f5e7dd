"""The ``/v1/invoices`` routes: create, read, change, list, and move an invoice through its
lifecycle (finalize, pay, send, void, mark uncollectible). The lifecycle itself lives in
`invoices`."""

from __future__ import annotations

from local.stripe_emulator import events, expand, pagination
from local.stripe_emulator import params as p
from local.stripe_emulator import payment_methods as methods
from local.stripe_emulator.errors import StripeError, invalid_param, missing_param
from local.stripe_emulator.forms import Params
from local.stripe_emulator.invoices import (
    DAY_S,
    ITEM_OBJECT,
    OBJECT,
    SUBSCRIPTION_OBJECT,
    URL,
    current_intent,
    days_until_due,
    draft,
    finalize,
    mark_paid,
    pay,
    subscription_of,
    unexpected_state,
    void,
)
from local.stripe_emulator.routing import ApiRequest, Router
from local.stripe_emulator.store import JsonObject, ObjectStore
from local.stripe_emulator.timeline import now_for

_UPDATABLE = frozenset(
    {"auto_advance", "collection_method", "default_payment_method", "description", "metadata"}
)


_CREATABLE = _UPDATABLE | {
    "currency",
    "customer",
    "days_until_due",
    "pending_invoice_items_behavior",
    "subscription",
}


_LIST_FILTERS = frozenset({"customer", "status", "subscription", "collection_method"})


_STATUSES = ("draft", "open", "paid", "uncollectible", "void")


def register(router: Router) -> None:
    router.object_types.add(OBJECT)
    router.add("POST", URL, create)
    router.add("GET", URL, list_invoices)
    router.add("GET", f"{URL}/{{id}}", retrieve)
    router.add("POST", f"{URL}/{{id}}", update)
    router.add("DELETE", f"{URL}/{{id}}", delete)
    router.add("GET", f"{URL}/{{id}}/lines", list_lines)
    router.add("POST", f"{URL}/{{id}}/finalize", finalize_route)
    router.add("POST", f"{URL}/{{id}}/pay", pay_route)
    router.add("POST", f"{URL}/{{id}}/void", void_route)
    router.add("POST", f"{URL}/{{id}}/send", send_route)
    router.add("POST", f"{URL}/{{id}}/mark_uncollectible", mark_uncollectible_route)


def create(request: ApiRequest) -> JsonObject:
    params, store = request.params, request.store
    p.reject_unknown(params, _CREATABLE)
    if "customer" not in params:
        raise missing_param("customer")
    customer = methods.require_customer(store, p.string(params, "customer"))
    now = now_for(store, customer["id"], request.now)
    subscription = None
    if "subscription" in params:
        subscription = store.require(
            SUBSCRIPTION_OBJECT, p.string(params, "subscription"), "subscription"
        )
    behavior = (
        p.choice(params, "pending_invoice_items_behavior", ("exclude", "include"))
        if "pending_invoice_items_behavior" in params
        else "exclude"
    )
    changes = _changes(store, params, {"metadata": {}})
    days = days_until_due(params)
    currency = p.string(params, "currency").lower() if "currency" in params else "usd"
    invoice = draft(
        store,
        now,
        request.base_url,
        customer,
        currency=currency,
        billing_reason="manual",
        subscription=subscription,
        include_pending=behavior == "include",
    )
    invoice.update(changes)
    if days is not None:
        invoice.update(collection_method="send_invoice", due_date=now + days * DAY_S)
    return _render(request, invoice)


def retrieve(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, ())
    return _render(request, request.store.require(OBJECT, request.path_params["id"], "invoice"))


def update(request: ApiRequest) -> JsonObject:
    store = request.store
    invoice = store.require(OBJECT, request.path_params["id"], "invoice")
    p.reject_unknown(request.params, _UPDATABLE)
    if invoice["status"] != "draft" and set(request.params) - {"metadata", "expand"}:
        raise StripeError(
            400,
            "Only metadata can be changed on a finalized invoice.",
            code="invoice_not_editable",
        )
    changes = _changes(store, request.params, invoice)
    previous = {name: invoice[name] for name in changes if invoice[name] != changes[name]}
    invoice.update(changes)
    if previous:
        now = now_for(store, invoice["customer"], request.now)
        events.emit(store, "invoice.updated", invoice, now, previous)
    return _render(request, invoice)


def delete(request: ApiRequest) -> JsonObject:
    store = request.store
    invoice = store.require(OBJECT, request.path_params["id"], "invoice")
    if invoice["status"] != "draft":
        raise StripeError(
            400, "You can only delete draft invoices.", code="invoice_unexpected_state"
        )
    for line in invoice["lines"]["data"]:
        item_id = (line["parent"].get("invoice_item_details") or {}).get("invoice_item")
        item = store.find(ITEM_OBJECT, item_id) if item_id else None
        if item is not None:
            item["invoice"] = None
    store.delete(OBJECT, invoice["id"])
    events.emit(store, "invoice.deleted", invoice, now_for(store, invoice["customer"], request.now))
    return {"id": invoice["id"], "object": OBJECT, "deleted": True}


def finalize_route(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, ("auto_advance",))
    store = request.store
    invoice = store.require(OBJECT, request.path_params["id"], "invoice")
    finalize(store, invoice, now_for(store, invoice["customer"], request.now))
    return _render(request, invoice)


def pay_route(request: ApiRequest) -> JsonObject:
    params, store = request.params, request.store
    p.reject_unknown(params, ("payment_method", "off_session", "paid_out_of_band"))
    invoice = store.require(OBJECT, request.path_params["id"], "invoice")
    now = now_for(store, invoice["customer"], request.now)
    if invoice["status"] != "open" and invoice["status"] != "draft":
        raise StripeError(400, "Invoice is already paid.", code="invoice_not_open")
    if "paid_out_of_band" in params and p.boolean(params, "paid_out_of_band"):
        if invoice["status"] == "draft":
            finalize(store, invoice, now)
        if invoice["status"] == "open":
            mark_paid(store, invoice, now)
        return _render(request, invoice)
    chosen = None
    if "payment_method" in params:
        chosen = methods.resolve(store, now, p.string(params, "payment_method"), "payment_method")
    pay(store, invoice, now, request.base_url, chosen["id"] if chosen else None)
    if invoice["status"] == "open":
        raise _payment_error(store, invoice)
    return _render(request, invoice)


def send_route(request: ApiRequest) -> JsonObject:
    """Sends a finalized send_invoice invoice to its customer: no email here (as in Stripe's
    test mode), only the ``invoice.sent`` event."""
    p.reject_unknown(request.params, ())
    store = request.store
    invoice = store.require(OBJECT, request.path_params["id"], "invoice")
    if invoice["collection_method"] != "send_invoice":
        raise StripeError(
            400,
            "You can only send an invoice whose collection_method is send_invoice.",
            code="invoice_not_editable",
        )
    if invoice["status"] == "draft":
        raise StripeError(
            400, "You can only send an invoice once it is finalized.", code="invoice_not_editable"
        )
    events.emit(store, "invoice.sent", invoice, now_for(store, invoice["customer"], request.now))
    return _render(request, invoice)


def void_route(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, ())
    store = request.store
    invoice = store.require(OBJECT, request.path_params["id"], "invoice")
    void(store, invoice, now_for(store, invoice["customer"], request.now))
    return _render(request, invoice)


def mark_uncollectible_route(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, ())
    store = request.store
    invoice = store.require(OBJECT, request.path_params["id"], "invoice")
    if invoice["status"] != "open":
        raise unexpected_state(invoice, "mark uncollectible")
    now = now_for(store, invoice["customer"], request.now)
    invoice["status"] = "uncollectible"
    invoice["status_transitions"]["marked_uncollectible_at"] = now
    events.emit(store, "invoice.marked_uncollectible", invoice, now)
    return _render(request, invoice)


def list_invoices(request: ApiRequest) -> JsonObject:
    params = request.params
    p.reject_unknown(params, pagination.LIST_PARAMS | _LIST_FILTERS)
    in_range = pagination.created_filter(params)
    customer = p.string(params, "customer") if "customer" in params else None
    status = p.choice(params, "status", _STATUSES) if "status" in params else None
    subscription = p.string(params, "subscription") if "subscription" in params else None
    found = [
        invoice
        for invoice in request.store.live(OBJECT)
        if in_range(invoice)
        and (customer is None or invoice["customer"] == customer)
        and (status is None or invoice["status"] == status)
        and (subscription is None or subscription_of(invoice) == subscription)
    ]
    page = pagination.list_page(request.store, OBJECT, found, params, URL)
    return expand.render(request.store, page, expand.requested(params))


def list_lines(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, pagination.LIST_PARAMS)
    invoice = request.store.require(OBJECT, request.path_params["id"], "invoice")
    lines = invoice["lines"]
    return {**lines, "data": lines["data"][: pagination.limit(request.params)]}


def _changes(store: ObjectStore, params: Params, current: JsonObject) -> JsonObject:
    changes: JsonObject = {}
    if "auto_advance" in params:
        changes["auto_advance"] = p.boolean(params, "auto_advance")
    if "collection_method" in params:
        changes["collection_method"] = p.choice(
            params, "collection_method", ("charge_automatically", "send_invoice")
        )
    if "description" in params:
        changes["description"] = p.nullable_string(params, "description")
    if "metadata" in params:
        changes["metadata"] = p.apply_metadata(current["metadata"], params["metadata"])
    if "default_payment_method" in params:
        value = p.nullable_string(params, "default_payment_method")
        if value is not None and store.find(methods.OBJECT, value) is None:
            raise invalid_param(
                "default_payment_method",
                f"No such PaymentMethod: '{value}'",
                "resource_missing",
            )
        changes["default_payment_method"] = value
    return changes


def _payment_error(store: ObjectStore, invoice: JsonObject) -> StripeError:
    intent = current_intent(store, invoice)
    error = intent["last_payment_error"] if intent else None
    if intent is not None and intent["status"] == "requires_action":
        return StripeError(
            402,
            "Payment for this invoice requires additional user action before it can be "
            "completed successfully.",
            error_type="card_error",
            code="invoice_payment_intent_requires_action",
            extra={"payment_intent": intent},
        )
    if error is None:
        return StripeError(
            402,
            "This customer has no attached payment source or default payment method.",
            error_type="card_error",
            code="invoice_no_payment_method_types",
        )
    return StripeError(
        402,
        error["message"],
        error_type="card_error",
        code=error["code"],
        extra={"decline_code": error.get("decline_code"), "payment_intent": intent},
    )


def _render(request: ApiRequest, invoice: JsonObject) -> JsonObject:
    return expand.render(request.store, invoice, expand.requested(request.params))
