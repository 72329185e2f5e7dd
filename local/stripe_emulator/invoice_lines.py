"""Invoice lines: a subscription item's charge for a period, a pending invoice item's line,
and the totals a line changes. Shared by the stored invoices and the previews."""

from __future__ import annotations

from local.stripe_emulator import pricing
from local.stripe_emulator.store import JsonObject


def pending_for(item: JsonObject, customer_id: str, currency: str, sub_id: str | None) -> bool:
    """A pending item goes on the customer's next invoice, or its own subscription's."""
    if item["invoice"] is not None or item["customer"] != customer_id:
        return False
    parent = item["parent"]
    item_sub = parent["subscription_details"]["subscription"] if parent else None
    return item["currency"] == currency and item_sub in (None, sub_id)


def subscription_line(
    price: JsonObject,
    quantity: int,
    subscription_id: str,
    item_id: str,
    period: tuple[int, int],
    description: str,
) -> JsonObject:
    """An invoice line charging a subscription item for one period: ``price`` with its
    tiers (see `prorations.billed_price`), rounded once."""
    amount = pricing.line_amount(price, quantity)
    return {
        "object": "line_item",
        "amount": amount,
        "currency": price["currency"],
        "description": description,
        "discount_amounts": [],
        "discountable": True,
        "discounts": [],
        "livemode": False,
        "metadata": {},
        "parent": {
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": None,
                "proration": False,
                "proration_details": {"credited_items": None},
                "subscription": subscription_id,
                "subscription_item": item_id,
            },
            "type": "subscription_item_details",
        },
        "period": {"end": period[1], "start": period[0]},
        "pretax_credit_amounts": [],
        "pricing": line_pricing(price),
        "quantity": quantity,
        "subtotal": amount,
        "taxes": [],
    }


def attach_item(invoice: JsonObject, item: JsonObject) -> None:
    """Puts a pending invoice item on a draft invoice as one line."""
    item["invoice"] = invoice["id"]
    add_line(invoice, item_line(item))


def item_line(item: JsonObject) -> JsonObject:
    parent = item["parent"]
    return {
        "object": "line_item",
        "amount": item["amount"],
        "currency": item["currency"],
        "description": item["description"],
        "discount_amounts": [],
        "discountable": item["discountable"],
        "discounts": [],
        "livemode": False,
        "metadata": dict(item["metadata"]),
        "parent": {
            "invoice_item_details": {
                "invoice_item": item["id"],
                "proration": item["proration"],
                "proration_details": {"credited_items": None},
                "subscription": (
                    parent["subscription_details"]["subscription"] if parent else None
                ),
            },
            "subscription_item_details": None,
            "type": "invoice_item_details",
        },
        "period": dict(item["period"]),
        "pretax_credit_amounts": [],
        "pricing": item["pricing"],
        "quantity": item["quantity"],
        "subtotal": item["amount"],
        "taxes": [],
    }


def add_line(invoice: JsonObject, line: JsonObject) -> None:
    line = {"id": f"il_{invoice['id'][3:]}{len(invoice['lines']['data'])}", **line}
    line["invoice"] = invoice["id"]
    invoice["lines"]["data"].append(line)
    _retotal(invoice)


def remove_item_line(invoice: JsonObject, item_id: str) -> None:
    """Takes a deleted invoice item's line off a draft invoice."""
    invoice["lines"]["data"] = [
        line
        for line in invoice["lines"]["data"]
        if (line["parent"].get("invoice_item_details") or {}).get("invoice_item") != item_id
    ]
    _retotal(invoice)


def _retotal(invoice: JsonObject) -> None:
    lines = invoice["lines"]
    total = sum(int(each["amount"]) for each in lines["data"])
    invoice.update(subtotal=total, subtotal_excluding_tax=total, total=total)
    invoice.update(total_excluding_tax=total, amount_due=max(total, 0))
    invoice["amount_remaining"] = invoice["amount_due"]


def line_pricing(price: JsonObject) -> JsonObject:
    return {
        "price_details": {"price": price["id"], "product": price["product"]},
        "type": "price_details",
        "unit_amount_decimal": price["unit_amount_decimal"],
    }
