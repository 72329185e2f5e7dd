"""The InvoiceItem resource: ``/v1/invoiceitems``.

A pending item (no ``invoice``) waits for the customer's next invoice (a subscription's
renewal, or an invoice created with ``pending_invoice_items_behavior=include``);
one created with ``invoice=`` goes on that draft at once. Prorations are invoice items.
"""

from __future__ import annotations

from local.stripe_emulator import events, invoice_lines, invoices, pagination, pricing
from local.stripe_emulator import params as p
from local.stripe_emulator import payment_methods as methods
from local.stripe_emulator.errors import StripeError, invalid_param, missing_param
from local.stripe_emulator.forms import Params
from local.stripe_emulator.routing import ApiRequest, Router
from local.stripe_emulator.store import JsonObject, ObjectStore
from local.stripe_emulator.timeline import now_for

OBJECT = invoices.ITEM_OBJECT
URL = "/v1/invoiceitems"

_UPDATABLE = frozenset({"amount", "description", "discountable", "metadata", "quantity"})
_CREATABLE = _UPDATABLE | {
    "currency",
    "customer",
    "invoice",
    "period",
    "price",
    "pricing",
    "subscription",
}


def register(router: Router) -> None:
    router.object_types.add(OBJECT)
    router.add("POST", URL, create)
    router.add("GET", URL, list_items)
    router.add("GET", f"{URL}/{{id}}", retrieve)
    router.add("POST", f"{URL}/{{id}}", update)
    router.add("DELETE", f"{URL}/{{id}}", delete)


def create_item(
    store: ObjectStore,
    now: int,
    customer: JsonObject,
    *,
    amount: int,
    currency: str,
    description: str | None,
    period: tuple[int, int],
    quantity: int = 1,
    price: JsonObject | None = None,
    proration: bool = False,
    subscription: tuple[str, str | None] | None = None,
    metadata: dict[str, str] | None = None,
) -> JsonObject:
    """A stored pending item; ``subscription`` is (subscription id, subscription item id)."""
    item: JsonObject = {
        "id": store.new_id("ii", 24),
        "object": OBJECT,
        "amount": amount,
        "currency": currency,
        "customer": customer["id"],
        "customer_account": None,
        "date": now,
        "description": description,
        "discountable": not proration,
        "discounts": [],
        "invoice": None,
        "livemode": False,
        "metadata": dict(metadata or {}),
        "net_amount": amount,
        "parent": None,
        "period": {"end": period[1], "start": period[0]},
        "pricing": None,
        "proration": proration,
        "proration_details": {"credited_items": None, "discount_amounts": []},
        "quantity": quantity,
        "quantity_decimal": str(quantity),
        "tax_rates": [],
        "test_clock": customer["test_clock"],
    }
    if price is not None:
        item["pricing"] = {
            "price_details": {"price": price["id"], "product": price["product"]},
            "type": "price_details",
            "unit_amount_decimal": price["unit_amount_decimal"],
        }
    if subscription is not None:
        details = {"subscription": subscription[0]}
        if subscription[1] is not None:
            # One-time items of a subscription's first invoice belong to no item of it.
            details["subscription_item"] = subscription[1]
        item["parent"] = {"subscription_details": details, "type": "subscription_details"}
    store.insert(item)
    events.emit(store, "invoiceitem.created", item, now)
    return item


def create(request: ApiRequest) -> JsonObject:
    params, store = request.params, request.store
    p.reject_unknown(params, _CREATABLE)
    if "customer" not in params:
        raise missing_param("customer")
    customer = methods.require_customer(store, p.string(params, "customer"))
    now = now_for(store, customer["id"], request.now)
    quantity = p.integer(params, "quantity", minimum=0) if "quantity" in params else 1
    price = _price(store, params)
    if price is not None:
        if "amount" in params:
            raise invalid_param("amount", "You may only specify one of amount and pricing[price].")
        # What the quantity of the price costs, by its tiers or exact decimal, rounded once.
        amount = pricing.check_line(pricing.line_amount(price, quantity), "quantity")
        currency = str(price["currency"])
    else:
        if "amount" not in params:
            raise missing_param("amount")
        if "currency" not in params:
            raise missing_param("currency")
        amount = pricing.check_line(p.integer(params, "amount"), "amount")
        currency = p.string(params, "currency").lower()
    invoice = None
    if "invoice" in params:
        invoice = store.require(invoices.OBJECT, p.string(params, "invoice"), "invoice")
        if invoice["status"] != "draft" or invoice["customer"] != customer["id"]:
            raise invalid_param(
                "invoice", "Invoice items can only be added to the customer's draft invoices."
            )
        if invoice["currency"] != currency:
            # Stripe refuses an item in another currency than its invoice's.
            raise invalid_param(
                "pricing[price]" if price is not None else "currency",
                f"The price specified only supports `{currency}`. This doesn't match the "
                f"expected currency: `{invoice['currency']}`.",
            )
    subscription = None
    if "subscription" in params:
        sub = store.require("subscription", p.string(params, "subscription"), "subscription")
        subscription = (str(sub["id"]), None)
    item = create_item(
        store,
        now,
        customer,
        amount=amount,
        currency=currency,
        description=p.nullable_string(params, "description") if "description" in params else None,
        period=_period(params, now),
        quantity=quantity,
        price=price,
        subscription=subscription,
        metadata=p.apply_metadata({}, params["metadata"]) if "metadata" in params else None,
    )
    if "discountable" in params:
        item["discountable"] = p.boolean(params, "discountable")
    if invoice is not None:
        invoice_lines.attach_item(invoice, item)
    return item


def retrieve(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, ())
    return request.store.require(OBJECT, request.path_params["id"], "invoiceitem")


def update(request: ApiRequest) -> JsonObject:
    params, store = request.params, request.store
    item = store.require(OBJECT, request.path_params["id"], "invoiceitem")
    p.reject_unknown(params, _UPDATABLE)
    _require_editable(store, item)
    changes: JsonObject = {}
    if "description" in params:
        changes["description"] = p.nullable_string(params, "description")
    if "metadata" in params:
        changes["metadata"] = p.apply_metadata(item["metadata"], params["metadata"])
    if "discountable" in params:
        changes["discountable"] = p.boolean(params, "discountable")
    if "amount" in params or "quantity" in params:
        if item["invoice"] is not None:
            raise invalid_param("amount", "Amounts of an item on an invoice cannot change here.")
        if "quantity" in params:
            changes["quantity"] = p.integer(params, "quantity", minimum=0)
            changes["quantity_decimal"] = str(changes["quantity"])
            price = _price_of(store, item)
            if price is not None:
                # An item of a price charges what its new quantity costs.
                amount = pricing.line_amount(price, changes["quantity"])
                changes["amount"] = changes["net_amount"] = pricing.check_line(amount, "quantity")
        if "amount" in params:
            amount = pricing.check_line(p.integer(params, "amount"), "amount")
            changes["amount"] = changes["net_amount"] = amount
    # Stripe has no `invoiceitem.updated` event (its published event types list none).
    item.update(changes)
    return item


def delete(request: ApiRequest) -> JsonObject:
    store = request.store
    item = store.require(OBJECT, request.path_params["id"], "invoiceitem")
    invoice = _require_editable(store, item)
    if invoice is not None:
        invoice_lines.remove_item_line(invoice, item["id"])
    store.delete(OBJECT, item["id"])
    events.emit(store, "invoiceitem.deleted", item, now_for(store, item["customer"], request.now))
    return {"id": item["id"], "object": OBJECT, "deleted": True}


def list_items(request: ApiRequest) -> JsonObject:
    params = request.params
    p.reject_unknown(params, pagination.LIST_PARAMS | {"customer", "invoice", "pending"})
    in_range = pagination.created_filter(params)
    customer = p.string(params, "customer") if "customer" in params else None
    invoice = p.string(params, "invoice") if "invoice" in params else None
    pending = p.boolean(params, "pending") if "pending" in params else None
    found = [
        item
        for item in request.store.live(OBJECT)
        if in_range({"created": item["date"]})
        and (customer is None or item["customer"] == customer)
        and (invoice is None or item["invoice"] == invoice)
        and (pending is None or (item["invoice"] is None) == pending)
    ]
    return pagination.list_page(request.store, OBJECT, found, params, URL)


def _require_editable(store: ObjectStore, item: JsonObject) -> JsonObject | None:
    invoice = store.find(invoices.OBJECT, item["invoice"]) if item["invoice"] else None
    if invoice is not None and invoice["status"] != "draft":
        raise StripeError(
            400,
            "You can only change invoice items that are pending or on a draft invoice.",
            code="invoice_not_editable",
        )
    return invoice


def _price(store: ObjectStore, params: Params) -> JsonObject | None:
    price_id: str | None = None
    if "price" in params:
        price_id = p.string(params, "price")
    if "pricing" in params:
        raw = p.hash_or_null(params, "pricing") or {}
        with p.nested("pricing"):
            p.reject_unknown(raw, ("price",), prefix="pricing")
            price_id = p.string(raw, "price") if "price" in raw else None
    if price_id is None:
        return None
    price = store.find("price", price_id)
    if price is None:
        raise invalid_param("pricing[price]", f"No such price: '{price_id}'", "resource_missing")
    return price


def _price_of(store: ObjectStore, item: JsonObject) -> JsonObject | None:
    details = (item["pricing"] or {}).get("price_details") or {}
    return store.find("price", details["price"]) if details.get("price") else None


def _period(params: Params, now: int) -> tuple[int, int]:
    if "period" not in params:
        return now, now
    raw = p.hash_or_null(params, "period") or {}
    with p.nested("period"):
        p.reject_unknown(raw, ("start", "end"), prefix="period")
        for required in ("start", "end"):
            if required not in raw:
                raise missing_param(required)
        start, end = p.integer(raw, "start"), p.integer(raw, "end")
    if end < start:
        raise invalid_param("period[end]", "The period end must be after its start.")
    return start, end
