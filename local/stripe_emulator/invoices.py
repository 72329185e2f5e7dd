"""The Invoice resource: ``/v1/invoices``.

Lifecycle: ``draft`` -> finalize -> ``open`` -> paid (``paid``) or payment failed (stays
``open``, ``attempt_count`` grows) or ``void``/``uncollectible``. An open invoice's
money moves through a PaymentIntent, linked by an ``invoice_payment`` (Stripe's current
API has no ``invoice.payment_intent``); the intent's outcome settles the invoice through
`hooks`, whether it came from the API, a test clock renewal or the hosted page.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

from local.stripe_emulator import (
    events,
    expand,
    hooks,
    invoice_lines,
)
from local.stripe_emulator import params as p
from local.stripe_emulator import payment_intents as intents
from local.stripe_emulator import payment_methods as methods
from local.stripe_emulator.errors import StripeError, invalid_param, missing_param
from local.stripe_emulator.forms import Params
from local.stripe_emulator.store import JsonObject, ObjectStore

OBJECT = "invoice"
URL = "/v1/invoices"
PAGE = "/invoices/{id}"
ITEM_OBJECT = "invoiceitem"
PAYMENT_OBJECT = "invoice_payment"
SUBSCRIPTION_OBJECT = "subscription"

# A send_invoice subscription's first invoice waits this long as a draft, as Stripe's does.
SEND_INVOICE_DRAFT_S = 3600
DAY_S = 86400


# Every field of a new invoice, in Stripe's order; `draft` fills those set to None here
# with the invoice's own values.
_BLANK: JsonObject = {
    "id": None,
    "object": OBJECT,
    "account_country": "US",
    "account_name": "Stripe emulator",
    "account_tax_ids": None,
    "amount_due": 0,
    "amount_overpaid": 0,
    "amount_paid": 0,
    "amount_remaining": 0,
    "amount_shipping": 0,
    "application": None,
    "attempt_count": 0,
    "attempted": False,
    "auto_advance": True,
    "automatic_tax": {
        "disabled_reason": None,
        "enabled": False,
        "liability": None,
        "provider": None,
        "status": None,
    },
    "automatically_finalizes_at": None,
    "billing_reason": None,
    "collection_method": "charge_automatically",
    "created": None,
    "currency": None,
    "custom_fields": None,
    "customer": None,
    "customer_account": None,
    "customer_address": None,
    "customer_email": None,
    "customer_name": None,
    "customer_phone": None,
    "customer_shipping": None,
    "customer_tax_exempt": None,
    "customer_tax_ids": [],
    "default_payment_method": None,
    "default_source": None,
    "default_tax_rates": [],
    "description": None,
    "discounts": [],
    "due_date": None,
    "effective_at": None,
    "ending_balance": None,
    "footer": None,
    "from_invoice": None,
    "hosted_invoice_url": None,
    "invoice_pdf": None,
    "issuer": {"type": "self"},
    "last_finalization_error": None,
    "latest_revision": None,
    "lines": None,
    "livemode": False,
    "metadata": {},
    "next_payment_attempt": None,
    "number": None,
    "on_behalf_of": None,
    "parent": None,
    "payment_settings": {
        "default_mandate": None,
        "payment_method_options": None,
        "payment_method_types": None,
    },
    "period_end": None,
    "period_start": None,
    "post_payment_credit_notes_amount": 0,
    "pre_payment_credit_notes_amount": 0,
    "receipt_number": None,
    "rendering": None,
    "shipping_cost": None,
    "shipping_details": None,
    "starting_balance": 0,
    "statement_descriptor": None,
    "status": "draft",
    "status_transitions": {
        "finalized_at": None,
        "marked_uncollectible_at": None,
        "paid_at": None,
        "voided_at": None,
    },
    "subtotal": 0,
    "subtotal_excluding_tax": 0,
    "test_clock": None,
    "threshold_reason": None,
    "total": 0,
    "total_discount_amounts": [],
    "total_excluding_tax": 0,
    "total_pretax_credit_amounts": [],
    "total_taxes": [],
    "webhooks_delivered_at": None,
}


# -- building ----------------------------------------------------------------------------


def draft(
    store: ObjectStore,
    now: int,
    base_url: str,
    customer: JsonObject,
    *,
    currency: str,
    billing_reason: str,
    subscription: JsonObject | None = None,
    lines: Iterable[JsonObject] = (),
    include_pending: bool = True,
    period: tuple[int, int] | None = None,
    stored: bool = True,
) -> JsonObject:
    """A stored draft invoice with ``lines`` (see `invoice_lines.subscription_line`) and
    pending items; with ``stored=False`` only built (a preview: no object, no event)."""
    invoice_id = store.new_id("in", 24)
    invoice = copy.deepcopy(_BLANK)
    invoice.update(
        {
            "id": invoice_id,
            "billing_reason": billing_reason,
            "created": now,
            "currency": currency,
            "customer": customer["id"],
            "customer_address": customer["address"],
            "customer_email": customer["email"],
            "customer_name": customer["name"],
            "customer_phone": customer["phone"],
            "customer_shipping": customer["shipping"],
            "customer_tax_exempt": customer["tax_exempt"],
            "hosted_invoice_url": f"{base_url}{PAGE.format(id=invoice_id)}",
            "invoice_pdf": f"{base_url}{PAGE.format(id=invoice_id)}/pdf",
            "lines": {
                "object": "list",
                "data": [],
                "has_more": False,
                "url": f"{URL}/{invoice_id}/lines",
            },
            "period_end": period[1] if period else now,
            "period_start": period[0] if period else now,
            "test_clock": customer["test_clock"],
        }
    )
    days = subscription["days_until_due"] if subscription is not None else None
    if days is not None:
        # Sent to be paid: due that many days after the invoice is made.
        invoice.update(collection_method="send_invoice", due_date=now + days * DAY_S)
    if subscription is not None:
        invoice["parent"] = _parent(subscription)
    for line in lines:
        invoice_lines.add_line(invoice, line)
    if include_pending:
        _take_pending(store, invoice, subscription)
    if stored:
        store.insert(invoice)
        events.emit(store, "invoice.created", invoice, now)
    return invoice


def _parent(subscription: JsonObject) -> JsonObject:
    return {
        "quote_details": None,
        "subscription_details": {
            "metadata": dict(subscription["metadata"]),
            "subscription": subscription["id"],
        },
        "type": "subscription_details",
    }


def _take_pending(store: ObjectStore, invoice: JsonObject, subscription: JsonObject | None) -> None:
    """Puts the customer's pending items on the draft (oldest first)."""
    sub_id = subscription["id"] if subscription else None
    for item in store.live(ITEM_OBJECT)[::-1]:
        if invoice_lines.pending_for(item, invoice["customer"], invoice["currency"], sub_id):
            invoice_lines.attach_item(invoice, item)


# -- lifecycle -----------------------------------------------------------------------------


def finalize(store: ObjectStore, invoice: JsonObject, now: int) -> None:
    """draft -> open: numbered, customer balance applied, a PaymentIntent for what is due."""
    if invoice["status"] != "draft":
        raise unexpected_state(invoice, "finalize")
    customer = store.require("customer", invoice["customer"], "customer")
    balance = int(customer["balance"])
    total = int(invoice["total"])
    due = max(total + balance, 0)
    ending = min(total + balance, 0)
    if balance != ending:
        customer["balance"] = ending
        events.emit(store, "customer.updated", customer, now, {"balance": balance})
    _open(store, customer, invoice, now, due, (balance, ending))
    if due > 0:
        intent = intents.new_intent(
            store,
            now,
            amount=due,
            currency=invoice["currency"],
            customer=invoice["customer"],
            payment_method=None,
            description=f"Invoice {invoice['number']}",
        )
        _record_payment(store, invoice, intent, now, due)
    events.emit(store, "invoice.finalized", invoice, now)
    if due == 0:
        mark_paid(store, invoice, now)


def paid_by(store: ObjectStore, invoice: JsonObject, intent: JsonObject, now: int) -> None:
    """A draft whose money was already taken by `intent` (a payment-mode Checkout Session's
    post-payment invoice): opened, linked to that intent and paid, with no second charge
    and no credit balance applied."""
    if invoice["status"] != "draft":
        raise unexpected_state(invoice, "finalize")
    customer = store.require("customer", invoice["customer"], "customer")
    balance = int(customer["balance"])
    _open(store, customer, invoice, now, int(invoice["total"]), (balance, balance))
    _record_payment(store, invoice, intent, now, int(invoice["total"]))
    events.emit(store, "invoice.finalized", invoice, now)
    mark_paid(store, invoice, now)


def _open(
    store: ObjectStore,
    customer: JsonObject,
    invoice: JsonObject,
    now: int,
    due: int,
    balances: tuple[int, int],
) -> None:
    """Numbers the draft and opens it for ``due``; its invoice items now belong to it."""
    balance, ending = balances
    sequence = int(customer["next_invoice_sequence"])
    customer["next_invoice_sequence"] = sequence + 1
    invoice.update(
        status="open",
        number=f"{customer['invoice_prefix']}-{sequence:04d}",
        starting_balance=balance,
        ending_balance=ending,
        amount_due=due,
        amount_remaining=due,
        effective_at=now,
    )
    invoice["status_transitions"]["finalized_at"] = now
    for line in invoice["lines"]["data"]:
        item_id = (line["parent"].get("invoice_item_details") or {}).get("invoice_item")
        item = store.find(ITEM_OBJECT, item_id) if item_id else None
        if item is not None:
            item["invoice"] = invoice["id"]


def _record_payment(
    store: ObjectStore, invoice: JsonObject, intent: JsonObject, now: int, due: int
) -> None:
    """The invoice's money moves through `intent` (an ``invoice_payment`` links them)."""
    store.insert(
        {
            "id": store.new_id("inpay", 24),
            "object": PAYMENT_OBJECT,
            "amount_paid": None,
            "amount_requested": due,
            "created": now,
            "currency": invoice["currency"],
            "invoice": invoice["id"],
            "is_default": True,
            "livemode": False,
            "payment": {"payment_intent": intent["id"], "type": "payment_intent"},
            "status": "open",
            "status_transitions": {"canceled_at": None, "paid_at": None},
        }
    )


def collect(
    store: ObjectStore,
    invoice: JsonObject,
    now: int,
    base_url: str,
    payment_method_id: str | None = None,
) -> None:
    """A renewal's draft is finalized and charged to the card on file (what Stripe does
    when its ``automatically_finalizes_at`` comes)."""
    invoice["automatically_finalizes_at"] = None
    finalize(store, invoice, now)
    if invoice["status"] == "open" and invoice["collection_method"] != "send_invoice":
        pay(store, invoice, now, base_url, payment_method_id)


def pay(
    store: ObjectStore,
    invoice: JsonObject,
    now: int,
    base_url: str,
    payment_method_id: str | None = None,
) -> None:
    """One payment attempt with the given card, else the invoice's, subscription's or customer's.

    The outcome is the card's: paid, or still open after ``invoice.payment_failed``
    (declined, or no card at all), or waiting for 3-D Secure on the hosted page.
    """
    if invoice["status"] == "draft":
        finalize(store, invoice, now)
    if invoice["status"] != "open":
        raise StripeError(400, "Invoice is already paid.", code="invoice_not_open")
    payment = current_payment(store, invoice)
    if payment is None:
        mark_paid(store, invoice, now)
        return
    intent = store.require(intents.OBJECT, payment["payment"]["payment_intent"])
    if intent["status"] == "requires_action" and payment_method_id is None:
        # Still waiting for the customer to authenticate; trying again changes nothing.
        return
    chosen = payment_method_id or _default_payment_method(store, invoice)
    invoice["attempt_count"] += 1
    invoice["attempted"] = True
    if chosen is None:
        _schedule_retry(invoice, now)
        events.emit(store, "invoice.payment_failed", invoice, now)
        hooks.announce(store, hooks.INVOICE_PAYMENT_FAILED, invoice, now)
        return
    intent["payment_method"] = chosen
    intent["status"] = "requires_confirmation"
    intents.attempt(store, intent, now, base_url, off_session=True)


def current_payment(store: ObjectStore, invoice: JsonObject) -> JsonObject | None:
    return next(
        (
            payment
            for payment in store.live(PAYMENT_OBJECT)
            if payment["invoice"] == invoice["id"] and payment["is_default"]
        ),
        None,
    )


def current_intent(store: ObjectStore, invoice: JsonObject) -> JsonObject | None:
    payment = current_payment(store, invoice)
    return store.find(intents.OBJECT, payment["payment"]["payment_intent"]) if payment else None


def void(store: ObjectStore, invoice: JsonObject, now: int) -> None:
    if invoice["status"] not in ("open", "uncollectible"):
        raise unexpected_state(invoice, "void")
    intent = current_intent(store, invoice)
    if intent is not None and intent["status"] not in ("succeeded", "canceled"):
        intents.cancel_intent(store, intent, now, None)
    payment = current_payment(store, invoice)
    if payment is not None:
        payment["status"] = "canceled"
        payment["status_transitions"]["canceled_at"] = now
    invoice.update(status="void", amount_remaining=0)
    invoice["status_transitions"]["voided_at"] = now
    events.emit(store, "invoice.voided", invoice, now)


def mark_paid(store: ObjectStore, invoice: JsonObject, now: int) -> None:
    invoice.update(
        status="paid",
        amount_paid=invoice["amount_due"],
        amount_remaining=0,
        next_payment_attempt=None,
    )
    invoice["status_transitions"]["paid_at"] = now
    payment = current_payment(store, invoice)
    if payment is not None:
        payment.update(status="paid", amount_paid=invoice["amount_due"])
        payment["status_transitions"]["paid_at"] = now
        events.emit(store, "invoice_payment.paid", payment, now)
    events.emit(store, "invoice.paid", invoice, now)
    events.emit(store, "invoice.payment_succeeded", invoice, now)
    hooks.announce(store, hooks.INVOICE_PAID, invoice, now)


def _on_intent_attempted(store: ObjectStore, intent: JsonObject, now: int) -> None:
    payment = next(
        (
            each
            for each in store.live(PAYMENT_OBJECT)
            if each["payment"]["payment_intent"] == intent["id"]
        ),
        None,
    )
    invoice = store.find(OBJECT, payment["invoice"]) if payment else None
    if invoice is None or invoice["status"] != "open":
        return
    if intent["status"] == "succeeded":
        mark_paid(store, invoice, now)
    elif intent["status"] == "requires_action":
        events.emit(store, "invoice.payment_action_required", invoice, now)
        hooks.announce(store, hooks.INVOICE_PAYMENT_FAILED, invoice, now)
    else:
        _schedule_retry(invoice, now)
        events.emit(store, "invoice.payment_failed", invoice, now)
        hooks.announce(store, hooks.INVOICE_PAYMENT_FAILED, invoice, now)


hooks.listen(hooks.PAYMENT_INTENT_ATTEMPTED, _on_intent_attempted)

# Stripe retries a renewal whose payment failed (Smart Retries; a custom schedule here):
# this many days after each failed attempt, then no more.
RETRY_AFTER_DAYS = (3, 5, 7)


def _schedule_retry(invoice: JsonObject, now: int) -> None:
    """A failed renewal's next automatic attempt (`next_payment_attempt`), which a test
    clock makes when it gets there; None once the schedule is spent."""
    failed = int(invoice["attempt_count"])
    automatic = invoice["billing_reason"] == "subscription_cycle"
    if automatic and 1 <= failed <= len(RETRY_AFTER_DAYS):
        invoice["next_payment_attempt"] = now + RETRY_AFTER_DAYS[failed - 1] * 86400
    else:
        invoice["next_payment_attempt"] = None


def _default_payment_method(store: ObjectStore, invoice: JsonObject) -> str | None:
    if invoice["default_payment_method"]:
        return str(invoice["default_payment_method"])
    parent = invoice["parent"]
    if parent is not None:
        subscription = store.find(
            SUBSCRIPTION_OBJECT, parent["subscription_details"]["subscription"]
        )
        if subscription is not None and subscription["default_payment_method"]:
            return str(subscription["default_payment_method"])
    customer = store.require("customer", invoice["customer"], "customer")
    default = methods.usable_default(store, customer)
    return None if default is None else str(default["id"])


def unexpected_state(invoice: JsonObject, action: str) -> StripeError:
    return StripeError(
        400,
        f"You can only {action} an invoice that is "
        f"{'a draft' if action == 'finalize' else 'open'}; this one is {invoice['status']}.",
        code="invoice_unexpected_state" if action != "pay" else "invoice_not_open",
    )


def _payments(store: ObjectStore, invoice: JsonObject) -> JsonObject:
    found = [each for each in store.live(PAYMENT_OBJECT) if each["invoice"] == invoice["id"]]
    return {
        "object": "list",
        "data": found,
        "has_more": False,
        "url": "/v1/invoice_payments",
    }


def _confirmation_secret(store: ObjectStore, invoice: JsonObject) -> JsonObject | None:
    intent = current_intent(store, invoice)
    if intent is None:
        return None
    return {"client_secret": intent["client_secret"], "type": "payment_intent"}


expand.includable(OBJECT, "payments", _payments)
expand.includable(OBJECT, "confirmation_secret", _confirmation_secret)


def days_until_due(params: Params) -> int | None:
    """``collection_method`` and ``days_until_due`` of a create: the days a sent invoice
    gives the customer to pay (None: charged automatically). Stripe needs them together."""
    method = (
        p.choice(params, "collection_method", ("charge_automatically", "send_invoice"))
        if "collection_method" in params
        else "charge_automatically"
    )
    if method == "charge_automatically":
        if "days_until_due" in params:
            raise invalid_param(
                "days_until_due",
                "days_until_due can only be set when collection_method is send_invoice.",
            )
        return None
    if "days_until_due" not in params:
        raise missing_param("days_until_due")
    return p.integer(params, "days_until_due", minimum=0, maximum=730)


def subscription_of(invoice: JsonObject) -> str | None:
    parent = invoice["parent"]
    return str(parent["subscription_details"]["subscription"]) if parent else None
