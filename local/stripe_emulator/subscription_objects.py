"""A subscription's objects: the subscription itself, its items (each with its price and the
legacy ``plan`` copied in), the invoice line that charges an item for its period, and the
``customer.subscription.updated`` event that names what changed."""

from __future__ import annotations

import copy

from local.stripe_emulator import events, invoice_lines, pricing
from local.stripe_emulator.prorations import (
    TIMES,
    ItemSpec,
    billed_price,
    current_period,
    product_name,
)
from local.stripe_emulator.store import JsonObject, ObjectStore

OBJECT = "subscription"

# Every field of a new subscription, in Stripe's order; `new_subscription` fills those set
# to None here with the subscription's own values.
_BLANK: JsonObject = {
    "id": None,
    "object": OBJECT,
    "application": None,
    "application_fee_percent": None,
    "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
    "billing_cycle_anchor": None,
    "billing_cycle_anchor_config": None,
    # Every path that creates a subscription has refused any mode but classic (see
    # billing_modes): the only mode this emulator computes.
    "billing_mode": {"flexible": None, "type": "classic", "updated_at": None},
    "billing_thresholds": None,
    "cancel_at": None,
    "cancel_at_period_end": False,
    "canceled_at": None,
    "cancellation_details": {"comment": None, "feedback": None, "reason": None},
    "collection_method": None,
    "created": None,
    "currency": None,
    "customer": None,
    "customer_account": None,
    "days_until_due": None,
    "default_payment_method": None,
    "default_source": None,
    "default_tax_rates": [],
    "description": None,
    "discounts": [],
    "ended_at": None,
    "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
    "items": None,
    "latest_invoice": None,
    "livemode": False,
    "metadata": {},
    "next_pending_invoice_item_invoice": None,
    "on_behalf_of": None,
    "pause_collection": None,
    "payment_settings": {
        "payment_method_options": None,
        "payment_method_types": None,
        "save_default_payment_method": "off",
    },
    "pending_invoice_item_interval": None,
    "pending_setup_intent": None,
    "pending_update": None,
    "schedule": None,
    "start_date": None,
    "status": "incomplete",
    "test_clock": None,
    "transfer_data": None,
    "trial_end": None,
    "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
    "trial_start": None,
}


def new_subscription(
    sub_id: str,
    now: int,
    customer: JsonObject,
    currency: str,
    *,
    anchor: int,
    trial_end: int | None,
    default_payment_method: str | None,
    days_until_due: int | None,
) -> JsonObject:
    """A new subscription without items, not stored."""
    subscription = copy.deepcopy(_BLANK)
    subscription.update(
        {
            "id": sub_id,
            "billing_cycle_anchor": anchor,
            "collection_method": "charge_automatically"
            if days_until_due is None
            else "send_invoice",
            "created": now,
            "currency": currency,
            "customer": customer["id"],
            "days_until_due": days_until_due,
            "default_payment_method": default_payment_method,
            "items": {
                "object": "list",
                "data": [],
                "has_more": False,
                "url": f"/v1/subscription_items?subscription={sub_id}",
            },
            "start_date": now,
            "test_clock": customer["test_clock"],
            "trial_end": trial_end,
            "trial_start": now if trial_end else None,
        }
    )
    return subscription


def new_item(
    store: ObjectStore, sub_id: str, spec: ItemSpec, period: tuple[int, int], now: int
) -> JsonObject:
    item: JsonObject = {
        "id": store.new_id("si", 14),
        "object": "subscription_item",
        "billing_thresholds": None,
        "created": now,
        "current_period_end": period[1],
        "current_period_start": period[0],
        "discounts": [],
        "metadata": dict(spec.metadata),
        "plan": plan(spec.price),
        "price": price_copy(spec.price),
        "quantity": spec.quantity,
        "subscription": sub_id,
        "tax_rates": [],
    }
    store.insert(item)
    return item


def pending_item(
    store: ObjectStore, subscription: JsonObject, spec: ItemSpec, now: int
) -> JsonObject:
    start, end = current_period(subscription)
    return {
        "id": spec.item_id or store.new_id("si", 14),
        "object": "subscription_item",
        "billing_thresholds": None,
        "created": now,
        "current_period_end": end,
        "current_period_start": start,
        "discounts": [],
        "metadata": dict(spec.metadata),
        "plan": plan(spec.price),
        "price": price_copy(spec.price),
        "quantity": spec.quantity,
        "subscription": subscription["id"],
        "tax_rates": [],
    }


def price_copy(price: JsonObject) -> JsonObject:
    return {name: value for name, value in price.items() if name != "tiers"}


def plan(price: JsonObject) -> JsonObject:
    recurring = price["recurring"]
    return {
        "id": price["id"],
        "object": "plan",
        "active": price["active"],
        "amount": price["unit_amount"],
        "amount_decimal": price["unit_amount_decimal"],
        "billing_scheme": price["billing_scheme"],
        "created": price["created"],
        "currency": price["currency"],
        "interval": recurring["interval"],
        "interval_count": recurring["interval_count"],
        "livemode": False,
        "metadata": dict(price["metadata"]),
        "meter": recurring.get("meter"),
        "nickname": price["nickname"],
        "product": price["product"],
        "tiers_mode": price["tiers_mode"],
        "transform_usage": None,
        "trial_period_days": recurring.get("trial_period_days"),
        "usage_type": recurring.get("usage_type", "licensed"),
    }


def period_line(
    store: ObjectStore, subscription: JsonObject, item: JsonObject, *, free: bool = False
) -> JsonObject:
    price = billed_price(store, item)
    quantity = int(item["quantity"])
    name = product_name(store, price)
    period = (int(item["current_period_start"]), int(item["current_period_end"]))
    if free:
        description = f"Trial period for {name}"
    elif price["billing_scheme"] == "tiered":
        description = f"{quantity} {TIMES} {name} (tiered, per {price['recurring']['interval']})"
    else:
        unit = pricing.unit_label(price)
        description = f"{quantity} {TIMES} {name} (at {unit} / {price['recurring']['interval']})"
    line = invoice_lines.subscription_line(
        price, quantity, subscription["id"], item["id"], period, description
    )
    if free:
        line.update(amount=0, subtotal=0)
    return line


def snapshot(subscription: JsonObject) -> JsonObject:
    return {
        "state": copy.deepcopy(
            {k: v for k, v in subscription.items() if k != "items"}
            | {"items": subscription["items"]}
        ),
        "period": current_period(subscription),
    }


def emit_updated(
    store: ObjectStore, subscription: JsonObject, previous: JsonObject, now: int
) -> None:
    before = previous["state"]
    changed = {k: v for k, v in before.items() if subscription.get(k) != v}
    if changed:
        events.emit(store, "customer.subscription.updated", subscription, now, changed)
