"""Invoice payments: ``/v1/invoice_payments``, how each invoice is (or was to be) paid.

Invoices create them (one per finalized invoice with something due, linking its
PaymentIntent); this module only answers reads of them.
"""

from __future__ import annotations

from local.stripe_emulator import pagination
from local.stripe_emulator import params as p
from local.stripe_emulator.routing import ApiRequest, Router
from local.stripe_emulator.store import JsonObject

OBJECT = "invoice_payment"
URL = "/v1/invoice_payments"
_STATUSES = ("canceled", "open", "paid")


def register(router: Router) -> None:
    router.object_types.add(OBJECT)
    router.add("GET", URL, list_payments)
    router.add("GET", f"{URL}/{{id}}", retrieve)


def retrieve(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, ())
    return request.store.require(OBJECT, request.path_params["id"], "invoice_payment")


def list_payments(request: ApiRequest) -> JsonObject:
    params = request.params
    p.reject_unknown(params, pagination.LIST_PARAMS | {"invoice", "payment", "status"})
    invoice = p.string(params, "invoice") if "invoice" in params else None
    status = p.choice(params, "status", _STATUSES) if "status" in params else None
    kind = paid_by = None
    if "payment" in params:
        payment = p.hash_or_null(params, "payment") or {}
        p.reject_unknown(payment, ("payment_intent", "payment_record", "type"), prefix="payment")
        with p.nested("payment"):
            kind = p.choice(payment, "type", ("payment_intent", "payment_record"))
            paid_by = p.string(payment, kind) if kind in payment else None
    in_range = pagination.created_filter(params)
    found = [
        each
        for each in request.store.live(OBJECT)
        if in_range(each)
        and (invoice is None or each["invoice"] == invoice)
        and (status is None or each["status"] == status)
        and (kind is None or each["payment"]["type"] == kind)
        and (paid_by is None or each["payment"].get(kind or "") == paid_by)
    ]
    return pagination.list_page(request.store, OBJECT, found, params, URL)
