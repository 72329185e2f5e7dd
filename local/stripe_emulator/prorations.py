"""What a change of a subscription's items asks for (`item_specs`) and what it prorates
(`prorations`): the math both the subscription update and the invoice preview use.

It sits below ``invoices`` and ``subscriptions`` (it imports neither), so that the preview
in ``invoices`` and the update in ``subscriptions`` share one computation without an
import cycle between them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from local.stripe_emulator import params as p
from local.stripe_emulator import pricing
from local.stripe_emulator.errors import invalid_param, missing_param
from local.stripe_emulator.forms import Params
from local.stripe_emulator.store import JsonObject, ObjectStore
from local.stripe_emulator.timeline import period_end

TIMES = "\N{MULTIPLICATION SIGN}"
_ITEM_FIELDS = ("id", "price", "quantity", "deleted", "metadata", "clear_usage")


@dataclass(frozen=True)
class ItemSpec:
    """What an item should become: its id (None for a new one), price and quantity."""

    item_id: str | None
    price: JsonObject
    quantity: int
    metadata: Mapping[str, str]


@dataclass(frozen=True)
class Proration:
    """One proration of a change: credit for the unused time of what goes, or the charge
    for the rest of the period of what comes (by the second, as Stripe)."""

    price: JsonObject
    quantity: int
    amount: int
    description: str
    period: tuple[int, int]
    item_id: str | None
    # False for a new price's whole first period, billed when the interval changes.
    proration: bool = True


def current_period(subscription: JsonObject) -> tuple[int, int]:
    item = subscription["items"]["data"][0]
    return int(item["current_period_start"]), int(item["current_period_end"])


def new_period(subscription: JsonObject, specs: list[ItemSpec], at: int) -> tuple[int, int] | None:
    """The billing period a change to prices of another interval starts at ``at`` (Stripe
    resets the billing cycle anchor to the change and bills the new period at once); None
    when the interval stays, or while trialing (the trial's end anchors the cycle)."""
    if not specs or subscription["status"] == "trialing":
        return None
    before = subscription["items"]["data"][0]["price"]["recurring"]
    after = specs[0].price["recurring"]
    if (before["interval"], before["interval_count"]) == (
        after["interval"],
        after["interval_count"],
    ):
        return None
    return at, period_end(at, at, after["interval"], int(after["interval_count"]))


def prorations(
    store: ObjectStore, subscription: JsonObject, specs: list[ItemSpec], at: int
) -> list[Proration]:
    """What changing the items to ``specs`` at ``at`` prorates; nothing is stored.

    Each line is what its price charges for the quantity over a whole period (by its
    tiers, or its exact decimal unit amount), times the unused share of the period,
    rounded once: so a tiered or sub-cent price is prorated like any other.
    """
    start, end = current_period(subscription)
    if not start <= at < end:
        return []
    share = Decimal(end - at) / Decimal(end - start)
    when = datetime.fromtimestamp(at, UTC).strftime("%d %b %Y")
    current = {item["id"]: item for item in subscription["items"]["data"]}
    wanted = {spec.item_id: spec for spec in specs if spec.item_id is not None}
    found: list[Proration] = []
    restart = new_period(subscription, specs, at)

    def add(price: JsonObject, quantity: int, sign: int, item_id: str | None) -> None:
        if sign > 0 and restart is not None:
            # Another interval: the new price's whole first period, from the change.
            amount = pricing.whole(pricing.exact_amount(price, quantity))
            description = f"{quantity} {TIMES} {product_name(store, price)}"
            found.append(Proration(price, quantity, amount, description, restart, item_id, False))
            return
        amount = sign * pricing.whole(pricing.exact_amount(price, quantity) * share)
        if amount == 0:
            return
        words = "Unused time on" if sign < 0 else "Remaining time on"
        description = f"{words} {quantity} {TIMES} {product_name(store, price)} after {when}"
        found.append(Proration(price, quantity, amount, description, (at, end), item_id))

    for item_id, item in current.items():
        spec = wanted.get(item_id)
        if (
            spec is None
            or spec.price["id"] != item["price"]["id"]
            or spec.quantity != item["quantity"]
        ):
            add(billed_price(store, item), int(item["quantity"]), -1, item_id)
            if spec is not None:
                add(spec.price, spec.quantity, 1, item_id)
    for spec in specs:
        if spec.item_id is None:
            add(spec.price, spec.quantity, 1, None)
    return found


def billed_price(store: ObjectStore, item: JsonObject) -> JsonObject:
    """The price an item bills by, with its tiers: the item's own copy leaves them out, as
    Stripe's does, and a price's amounts never change."""
    return store.find("price", item["price"]["id"]) or item["price"]


def product_name(store: ObjectStore, price: Mapping[str, Any]) -> str:
    product = store.find("product", str(price["product"]))
    return str(product["name"]) if product else str(price["product"])


# -- what a change asks for ---------------------------------------------------------------


def item_specs(store: ObjectStore, params: Params, current: JsonObject | None) -> list[ItemSpec]:
    """The subscription's items once ``params["items"]`` is applied to ``current``'s."""
    raw_items = params["items"]
    if not isinstance(raw_items, list) or not all(isinstance(i, dict) for i in raw_items):
        raise invalid_param("items", "Invalid array: items", "parameter_invalid_array")
    existing = {item["id"]: item for item in current["items"]["data"]} if current else {}
    changed: dict[str, ItemSpec | None] = {}
    added: list[ItemSpec] = []
    for index, raw in enumerate(raw_items):
        assert isinstance(raw, dict)
        with p.nested(f"items[{index}]"):
            p.reject_unknown(raw, _ITEM_FIELDS, prefix=f"items[{index}]")
            item_id = p.string(raw, "id") if "id" in raw else None
            if item_id is not None and item_id not in existing:
                raise invalid_param("id", f"No such subscription item: '{item_id}'")
            item = existing.get(item_id or "")
            if "deleted" in raw and p.boolean(raw, "deleted"):
                if item_id is None:
                    raise missing_param("id")
                changed[item_id] = None
                continue
            if "price" in raw:
                price = _price(store, p.string(raw, "price"))
            elif item is not None:
                price = store.require("price", item["price"]["id"])
            else:
                raise missing_param("price")
            if "quantity" in raw and (price["recurring"] or {}).get("usage_type") == "metered":
                # Usage, not a quantity, is what a metered price bills (in arrears).
                raise invalid_param(
                    "quantity",
                    "Quantity should not be specified where usage_type is `metered`.",
                )
            quantity = (
                p.integer(raw, "quantity", minimum=0)
                if "quantity" in raw
                else int(item["quantity"])
                if item is not None
                else 1
            )
            metadata = item["metadata"] if item is not None else {}
            if "metadata" in raw:
                metadata = p.apply_metadata(metadata, raw["metadata"])
        pricing.check_line(pricing.line_amount(price, quantity), f"items[{index}][quantity]")
        spec = ItemSpec(item_id, price, quantity, metadata)
        if item_id is None:
            added.append(spec)
        else:
            changed[item_id] = spec
    kept = [
        changed[item_id] if item_id in changed else _spec_of(store, item)
        for item_id, item in existing.items()
    ]
    specs = [spec for spec in kept if spec is not None] + added
    if not specs:
        raise invalid_param("items", "A subscription must keep at least one item.")
    _check_prices(specs)
    return specs


def one_time_items(store: ObjectStore, params: Params, currency: str) -> list[ItemSpec]:
    """``add_invoice_items``: one-time prices charged once, on the subscription's first
    invoice (what Checkout does with a subscription's one-time line items)."""
    raw_items = params["add_invoice_items"]
    if not isinstance(raw_items, list) or not all(isinstance(i, dict) for i in raw_items):
        raise invalid_param(
            "add_invoice_items", "Invalid array: add_invoice_items", "parameter_invalid_array"
        )
    found: list[ItemSpec] = []
    for index, raw in enumerate(raw_items):
        assert isinstance(raw, dict)
        prefix = f"add_invoice_items[{index}]"
        with p.nested(prefix):
            p.reject_unknown(raw, ("price", "quantity", "metadata"), prefix=prefix)
            if "price" not in raw:
                raise missing_param("price")
            price_id = p.string(raw, "price")
            price = store.find("price", price_id)
            if price is None:
                raise invalid_param("price", f"No such price: '{price_id}'", "resource_missing")
            if price["recurring"] is not None:
                raise invalid_param(
                    "price",
                    "The price specified is set to `type=recurring` but this field only "
                    "accepts prices with `type=one_time`.",
                )
            if not price["active"]:
                raise invalid_param("price", f"The price specified ({price_id}) is inactive.")
            if price["currency"] != currency:
                raise invalid_param(
                    "price", "The price's currency must be the subscription's currency."
                )
            quantity = p.integer(raw, "quantity", minimum=1) if "quantity" in raw else 1
            metadata = p.apply_metadata({}, raw["metadata"]) if "metadata" in raw else {}
        pricing.check_line(pricing.line_amount(price, quantity), f"{prefix}[quantity]")
        found.append(ItemSpec(None, price, quantity, metadata))
    return found


def changes_items(subscription: JsonObject, specs: list[ItemSpec]) -> bool:
    now_state = [
        (item["id"], item["price"]["id"], item["quantity"], item["metadata"])
        for item in subscription["items"]["data"]
    ]
    new_state = [(s.item_id, s.price["id"], s.quantity, dict(s.metadata)) for s in specs]
    return now_state != new_state


def _spec_of(store: ObjectStore, item: JsonObject) -> ItemSpec:
    return ItemSpec(
        item["id"],
        store.require("price", item["price"]["id"]),
        int(item["quantity"]),
        item["metadata"],
    )


def _check_prices(specs: list[ItemSpec]) -> None:
    seen: set[str] = set()
    for spec in specs:
        if spec.price["id"] in seen:
            raise invalid_param(
                "items", "Cannot add multiple subscription items with the same price."
            )
        seen.add(spec.price["id"])
    intervals = {
        (spec.price["recurring"]["interval"], spec.price["recurring"]["interval_count"])
        for spec in specs
    }
    if len(intervals) > 1:
        raise invalid_param(
            "items", "All prices on a subscription must have the same recurring interval."
        )
    if len({spec.price["currency"] for spec in specs}) > 1:
        raise invalid_param("items", "All prices on a subscription must have the same currency.")


def _price(store: ObjectStore, price_id: str) -> JsonObject:
    price = store.find("price", price_id)
    if price is None:
        raise invalid_param("price", f"No such price: '{price_id}'", "resource_missing")
    if price["recurring"] is None:
        raise invalid_param(
            "price",
            f"The price specified ({price_id}) is a one-time price; a subscription needs "
            "recurring prices.",
        )
    if not price["active"]:
        raise invalid_param("price", f"The price specified ({price_id}) is inactive.")
    return price
