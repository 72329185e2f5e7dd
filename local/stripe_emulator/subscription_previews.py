"""The first invoice of a subscription that does not exist yet (``invoices/create_preview``
with ``customer`` and ``subscription_details[items]``, no ``subscription``).

Each item is charged for its first whole period from ``start_date`` (default: now, on the
customer's clock), priced as a created subscription's first invoice prices it. Built and
answered, never stored: no subscription, no invoice, no event.
"""

from __future__ import annotations

from local.stripe_emulator import invoices, subscriptions
from local.stripe_emulator import params as p
from local.stripe_emulator import payment_methods as methods
from local.stripe_emulator.errors import missing_param
from local.stripe_emulator.routing import ApiRequest
from local.stripe_emulator.store import JsonObject, ObjectStore
from local.stripe_emulator.timeline import now_for, period_end

_DETAILS = ("items", "start_date")


def preview_new(request: ApiRequest) -> JsonObject:
    params, store = request.params, request.store
    customer = methods.require_customer(store, p.string(params, "customer"))
    now = now_for(store, customer["id"], request.now)
    details = p.hash_or_null(params, "subscription_details") or {}
    with p.nested("subscription_details"):
        p.reject_unknown(details, _DETAILS)
        if "items" not in details:
            raise missing_param("items")
        specs = subscriptions.item_specs(store, details, current=None)
        start = p.integer(details, "start_date", minimum=0) if "start_date" in details else now
    recurring = specs[0].price["recurring"]
    end = period_end(start, start, recurring["interval"], int(recurring["interval_count"]))
    lines = [_line(store, spec, (start, end)) for spec in specs]
    preview = invoices.draft(
        store,
        start,
        request.base_url,
        customer,
        currency=specs[0].price["currency"],
        billing_reason="upcoming",
        lines=lines,
        include_pending=False,
        period=(start, start),
        stored=False,
    )
    preview.update(id=f"upcoming_{preview['id']}", hosted_invoice_url=None, invoice_pdf=None)
    return preview


def _line(store: ObjectStore, spec: subscriptions.ItemSpec, period: tuple[int, int]) -> JsonObject:
    name = _product_name(store, spec.price)
    description = f"{spec.quantity} \N{MULTIPLICATION SIGN} {name}"
    line = invoices.subscription_line(spec.price, spec.quantity, "", "", period, description)
    # No subscription (nor item) exists yet to name.
    line["parent"]["subscription_item_details"]["subscription"] = None
    return line


def _product_name(store: ObjectStore, price: JsonObject) -> str:
    product = store.find("product", str(price["product"]))
    return str(product["name"]) if product else str(price["product"])
