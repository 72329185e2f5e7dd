"""Credit notes: ``/v1/credit_notes``, lowering what a finalized invoice asks for or gave.

A credit note first lowers the invoice's ``amount_remaining`` (and ``amount_due``), never
below zero: its ``pre_payment_amount``. The rest (``post_payment_amount``, on money already
paid) must be split exactly into ``refund_amount`` (a refund of the invoice's charge),
``credit_amount`` (the customer's balance, used by the next invoice) and
``out_of_band_amount`` (given back outside Stripe). An open invoice credited to zero is
paid. Voiding a credit note undoes its effect on the invoice and the balance; one that
refunded money cannot be voided (the money is gone).
"""

from __future__ import annotations

from dataclasses import dataclass

from local.stripe_emulator import events, hooks, invoices, pagination, refunds
from local.stripe_emulator import params as p
from local.stripe_emulator import payment_intents as intents
from local.stripe_emulator.errors import StripeError, invalid_param, missing_param
from local.stripe_emulator.forms import Params
from local.stripe_emulator.routing import ApiRequest, Router
from local.stripe_emulator.store import JsonObject, ObjectStore
from local.stripe_emulator.timeline import now_for

OBJECT = "credit_note"
URL = "/v1/credit_notes"
LINE_OBJECT = "credit_note_line_item"
BALANCE_OBJECT = "customer_balance_transaction"

# A payment intent still waiting to be paid (its amount can change, or it can be canceled).
_OPEN_INTENT = ("requires_payment_method", "requires_confirmation", "requires_action")
_REASONS = ("duplicate", "fraudulent", "order_change", "product_unsatisfactory")
_SPLIT = ("refund_amount", "credit_amount", "out_of_band_amount")
_CREATABLE = frozenset({"amount", "invoice", "lines", "memo", "metadata", "reason", *_SPLIT})
_LINE_FIELDS = (
    "amount",
    "description",
    "invoice_line_item",
    "metadata",
    "quantity",
    "type",
    "unit_amount",
)


def register(router: Router) -> None:
    router.object_types.add(OBJECT)
    router.add("POST", URL, create)
    router.add("GET", f"{URL}/preview", preview)
    router.add("GET", URL, list_notes)
    router.add("GET", f"{URL}/{{id}}", retrieve)
    router.add("GET", f"{URL}/{{id}}/lines", list_lines)
    router.add("POST", f"{URL}/{{id}}", update)
    router.add("POST", f"{URL}/{{id}}/void", void)


@dataclass(frozen=True)
class _Plan:
    """What a credit note does, worked out before anything changes."""

    invoice: JsonObject
    lines: list[JsonObject]
    amount: int
    pre_payment: int
    post_payment: int
    split: dict[str, int]
    charge: JsonObject | None


def _plan(store: ObjectStore, params: Params) -> _Plan:
    p.reject_unknown(params, _CREATABLE)
    if "invoice" not in params:
        raise missing_param("invoice")
    invoice = store.require(invoices.OBJECT, p.string(params, "invoice"), "invoice")
    if invoice["status"] not in ("open", "paid"):
        raise StripeError(
            400,
            f"A credit note can only be issued on an open or paid invoice; {invoice['id']} is "
            f"{invoice['status']}.",
            code="invoice_not_editable",
            param="invoice",
        )
    lines = _lines(invoice, params) if "lines" in params else []
    if "amount" in params:
        amount = p.integer(params, "amount", minimum=1)
        if lines and amount != sum(int(line["amount"]) for line in lines):
            raise invalid_param("amount", "The amount must equal the sum of the lines' amounts.")
    elif lines:
        amount = sum(int(line["amount"]) for line in lines)
    else:
        raise missing_param("amount")
    if not lines:
        lines = [_line(invoice, "custom_line_item", amount, None, 1, amount, "Credit")]
    credited = int(invoice["pre_payment_credit_notes_amount"]) + int(
        invoice["post_payment_credit_notes_amount"]
    )
    creditable = int(invoice["total"]) - credited - _refunded_outside_notes(store, invoice)
    if amount > creditable:
        raise invalid_param(
            "amount",
            f"The credit note amount ({amount}) is greater than what the invoice has left to "
            f"credit ({max(creditable, 0)}).",
        )
    pre = min(amount, int(invoice["amount_remaining"])) if invoice["status"] == "open" else 0
    post = amount - pre
    split = {name: p.integer(params, name, minimum=0) if name in params else 0 for name in _SPLIT}
    if sum(split.values()) != post:
        raise invalid_param(
            "refund_amount" if split["refund_amount"] else "out_of_band_amount",
            f"The sum of refund_amount, credit_amount and out_of_band_amount "
            f"({sum(split.values())}) must equal the credit note's post-payment amount ({post}): "
            f"{pre} of {amount} lowers what is still due.",
        )
    charge = None
    if split["refund_amount"]:
        intent = invoices.current_intent(store, invoice)
        if intent is None or intent["latest_charge"] is None or intent["status"] != "succeeded":
            raise invalid_param("refund_amount", "The invoice has no payment to refund.")
        charge = store.require(refunds.CHARGE_OBJECT, intent["latest_charge"])
        refunds.check_amount(charge, split["refund_amount"], "refund_amount")
    return _Plan(invoice, lines, amount, pre, post, split, charge)


def _refunded_outside_notes(store: ObjectStore, invoice: JsonObject) -> int:
    """Refunds made through the Refund API on the invoice's charge (Stripe counts them
    against what a credit note may still credit)."""
    intent = invoices.current_intent(store, invoice)
    if intent is None or intent["latest_charge"] is None:
        return 0
    by_notes = {
        entry["refund"]
        for note in store.live(OBJECT)
        if note["invoice"] == invoice["id"]
        for entry in note["refunds"]
    }
    return sum(
        int(each["amount"])
        for each in store.live(refunds.OBJECT)
        if each["charge"] == intent["latest_charge"] and each["id"] not in by_notes
    )


def _lines(invoice: JsonObject, params: Params) -> list[JsonObject]:
    raw_lines = params["lines"]
    if not isinstance(raw_lines, list) or not all(isinstance(r, dict) for r in raw_lines):
        raise invalid_param("lines", "Invalid array: lines", "parameter_invalid_array")
    by_id = {line["id"]: line for line in invoice["lines"]["data"]}
    built = []
    for index, raw in enumerate(raw_lines):
        assert isinstance(raw, dict)
        with p.nested(f"lines[{index}]"):
            built.append(_line_of(invoice, by_id, raw))
    return built


def _line_of(invoice: JsonObject, by_id: dict[str, JsonObject], raw: Params) -> JsonObject:
    p.reject_unknown(raw, _LINE_FIELDS)
    if "type" not in raw:
        raise missing_param("type")
    kind = p.choice(raw, "type", ("custom_line_item", "invoice_line_item"))
    description = p.string(raw, "description") if "description" in raw else None
    if kind == "custom_line_item":
        if "unit_amount" not in raw:
            raise missing_param("unit_amount")
        unit = p.integer(raw, "unit_amount", minimum=0)
        quantity = p.integer(raw, "quantity", minimum=1) if "quantity" in raw else 1
        return _line(invoice, kind, unit * quantity, None, quantity, unit, description)
    if "invoice_line_item" not in raw:
        raise missing_param("invoice_line_item")
    line_id = p.string(raw, "invoice_line_item")
    line = by_id.get(line_id)
    if line is None:
        raise invalid_param("invoice_line_item", f"No such invoice line item: '{line_id}'")
    if "amount" in raw and "quantity" in raw:
        raise invalid_param("quantity", "Pass either amount or quantity for an invoice line item.")
    line_quantity = int(line["quantity"] or 1)
    unit = int(line["amount"]) // line_quantity if line_quantity else int(line["amount"])
    if "quantity" in raw:
        quantity = p.integer(raw, "quantity", minimum=1, maximum=line_quantity)
        amount = unit * quantity
    else:
        amount = p.integer(raw, "amount", minimum=0) if "amount" in raw else int(line["amount"])
        quantity = line_quantity
    if amount > int(line["amount"]):
        raise invalid_param("amount", "The amount is greater than the invoice line item's amount.")
    return _line(invoice, kind, amount, line_id, quantity, unit, description or line["description"])


def _line(
    invoice: JsonObject,
    kind: str,
    amount: int,
    line_id: str | None,
    quantity: int,
    unit: int,
    description: str | None,
) -> JsonObject:
    line: JsonObject = {
        "object": LINE_OBJECT,
        "amount": amount,
        "description": description,
        "discount_amount": 0,
        "discount_amounts": [],
        "livemode": False,
        "metadata": {},
        "pretax_credit_amounts": [],
        "quantity": quantity,
        "tax_rates": [],
        "taxes": [],
        "type": kind,
        "unit_amount": unit,
        "unit_amount_decimal": str(unit),
    }
    if line_id is not None:
        line["invoice_line_item"] = line_id
    return line


def _note(store: ObjectStore, plan: _Plan, params: Params, now: int, note_id: str) -> JsonObject:
    invoice = plan.invoice
    sequence = 1 + sum(1 for note in store.live(OBJECT) if note["invoice"] == invoice["id"])
    kind = (
        "mixed"
        if plan.pre_payment and plan.post_payment
        else ("pre_payment" if plan.pre_payment else "post_payment")
    )
    lines = [{"id": f"cnli_{note_id[3:]}{index}", **line} for index, line in enumerate(plan.lines)]
    return {
        "id": note_id,
        "object": OBJECT,
        "amount": plan.amount,
        "amount_shipping": 0,
        "created": now,
        "currency": invoice["currency"],
        "customer": invoice["customer"],
        "customer_account": None,
        "customer_balance_transaction": None,
        "discount_amount": 0,
        "discount_amounts": [],
        "effective_at": now,
        "invoice": invoice["id"],
        "lines": {
            "object": "list",
            "data": lines,
            "has_more": False,
            "url": f"{URL}/{note_id}/lines",
        },
        "livemode": False,
        "memo": p.string(params, "memo") if "memo" in params else None,
        "metadata": p.apply_metadata({}, params["metadata"]) if "metadata" in params else {},
        "number": f"{invoice['number']}-CN-{sequence:02d}",
        "out_of_band_amount": plan.split["out_of_band_amount"] or None,
        "pdf": f"/credit_notes/{note_id}/pdf",
        "post_payment_amount": plan.post_payment,
        "pre_payment_amount": plan.pre_payment,
        "pretax_credit_amounts": [],
        "reason": p.choice(params, "reason", _REASONS) if "reason" in params else None,
        "refunds": [],
        "shipping_cost": None,
        "status": "issued",
        "subtotal": plan.amount,
        "subtotal_excluding_tax": plan.amount,
        "total": plan.amount,
        "total_excluding_tax": plan.amount,
        "total_taxes": [],
        "type": kind,
        "voided_at": None,
    }


def create(request: ApiRequest) -> JsonObject:
    store = request.store
    plan = _plan(store, request.params)
    invoice = plan.invoice
    now = now_for(store, invoice["customer"], request.now)
    note = _note(store, plan, request.params, now, store.new_id("cn", 24))
    store.insert(note)
    if plan.charge is not None:
        made = refunds.refund(store, plan.charge, plan.split["refund_amount"], now)
        note["refunds"] = [
            {
                "amount_refunded": made["amount"],
                "payment_record_refund": None,
                "refund": made["id"],
                "type": "refund",
            }
        ]
    if plan.split["credit_amount"]:
        note["customer_balance_transaction"] = _credit_balance(
            store, invoice, note, -plan.split["credit_amount"], now
        )
    events.emit(store, "credit_note.created", note, now)
    _apply_to_invoice(store, invoice, plan.pre_payment, plan.post_payment, now)
    return note


def _credit_balance(
    store: ObjectStore, invoice: JsonObject, note: JsonObject, amount: int, now: int
) -> str:
    """Moves the customer's balance by ``amount`` (negative: credit) for a credit note."""
    customer = store.require("customer", invoice["customer"], "customer")
    before = int(customer["balance"])
    customer["balance"] = before + amount
    entry = {
        "id": store.new_id("cbtxn", 24),
        "object": BALANCE_OBJECT,
        "amount": amount,
        "created": now,
        "credit_note": note["id"],
        "currency": invoice["currency"],
        "customer": customer["id"],
        "description": None,
        "ending_balance": customer["balance"],
        "invoice": None,
        "livemode": False,
        "metadata": None,
        "type": "credit_note",
    }
    store.insert(entry)
    events.emit(store, "customer.updated", customer, now, {"balance": before})
    return str(entry["id"])


def _apply_to_invoice(
    store: ObjectStore, invoice: JsonObject, pre: int, post: int, now: int
) -> None:
    """Adds (or, voiding, takes back) a credit note's amounts on its invoice."""
    fields = ("pre_payment_credit_notes_amount", "post_payment_credit_notes_amount")
    previous = {name: invoice[name] for name in (*fields, "amount_due", "amount_remaining")}
    invoice["pre_payment_credit_notes_amount"] += pre
    invoice["post_payment_credit_notes_amount"] += post
    if invoice["status"] == "open" and pre:
        invoice["amount_due"] = int(invoice["amount_due"]) - pre
        invoice["amount_remaining"] = int(invoice["amount_remaining"]) - pre
        _resize_payment(store, invoice, now)
    changed = {name: value for name, value in previous.items() if invoice[name] != value}
    if changed:
        events.emit(store, "invoice.updated", invoice, now, changed)
    if invoice["status"] == "open" and invoice["amount_remaining"] == 0:
        _paid_by_credit(store, invoice, now)


def _resize_payment(store: ObjectStore, invoice: JsonObject, now: int) -> None:
    """The invoice's payment intent asks for what is still due."""
    payment = invoices.current_payment(store, invoice)
    intent = invoices.current_intent(store, invoice)
    if payment is None or intent is None or intent["status"] not in _OPEN_INTENT:
        return
    remaining = int(invoice["amount_remaining"])
    payment["amount_requested"] = remaining
    if remaining > 0:
        intent["amount"] = remaining
        return
    intents.cancel_intent(store, intent, now, None)
    payment["status"] = "canceled"
    payment["status_transitions"]["canceled_at"] = now


def _paid_by_credit(store: ObjectStore, invoice: JsonObject, now: int) -> None:
    """Credit notes covered all of an open invoice: it is paid, with nothing charged."""
    invoice.update(status="paid", next_payment_attempt=None)
    invoice["status_transitions"]["paid_at"] = now
    events.emit(store, "invoice.paid", invoice, now)
    events.emit(store, "invoice.payment_succeeded", invoice, now)
    hooks.announce(store, hooks.INVOICE_PAID, invoice, now)


def preview(request: ApiRequest) -> JsonObject:
    store = request.store
    plan = _plan(store, request.params)
    now = now_for(store, plan.invoice["customer"], request.now)
    # Built and answered, never stored: no object, no event, nothing refunded or credited.
    return _note(store, plan, request.params, now, f"cn_preview_{store.new_id('x', 14)[2:]}")


def void(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, ())
    store = request.store
    note = store.require(OBJECT, request.path_params["id"], "id")
    if note["status"] == "void":
        raise StripeError(400, "This credit note is already void.", code="credit_note_already_void")
    if note["refunds"]:
        raise StripeError(
            400,
            "A credit note that refunded money cannot be voided.",
            code="credit_note_has_refunds",
        )
    invoice = store.require(invoices.OBJECT, note["invoice"], "invoice")
    if note["pre_payment_amount"] and invoice["status"] != "open":
        raise StripeError(
            400,
            f"The invoice is {invoice['status']}: the credit note that lowered what it asked "
            "for cannot be voided any more.",
            code="invoice_not_editable",
        )
    now = now_for(store, note["customer"], request.now)
    note.update(status="void", voided_at=now)
    credited = _credited_balance(store, note)
    if credited:
        _credit_balance(store, invoice, note, credited, now)
    _apply_to_invoice(
        store, invoice, -note["pre_payment_amount"], -note["post_payment_amount"], now
    )
    events.emit(store, "credit_note.voided", note, now)
    return note


def _credited_balance(store: ObjectStore, note: JsonObject) -> int:
    entry = store.find(BALANCE_OBJECT, note["customer_balance_transaction"] or "")
    return -int(entry["amount"]) if entry else 0


def update(request: ApiRequest) -> JsonObject:
    params, store = request.params, request.store
    p.reject_unknown(params, ("memo", "metadata"))
    note = store.require(OBJECT, request.path_params["id"], "id")
    previous: JsonObject = {}
    if "memo" in params:
        previous["memo"] = note["memo"]
        note["memo"] = p.string(params, "memo")
    if "metadata" in params:
        previous["metadata"] = note["metadata"]
        note["metadata"] = p.apply_metadata(note["metadata"] or {}, params["metadata"])
    changed = {k: v for k, v in previous.items() if note[k] != v}
    if changed:
        now = now_for(store, note["customer"], request.now)
        events.emit(store, "credit_note.updated", note, now, changed)
    return note


def retrieve(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, ())
    return request.store.require(OBJECT, request.path_params["id"], "id")


def list_lines(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, pagination.LIST_PARAMS)
    note = request.store.require(OBJECT, request.path_params["id"], "id")
    lines = note["lines"]
    return {**lines, "data": lines["data"][: pagination.limit(request.params)]}


def list_notes(request: ApiRequest) -> JsonObject:
    params = request.params
    p.reject_unknown(params, pagination.LIST_PARAMS | {"customer", "invoice"})
    wanted = {name: p.string(params, name) for name in ("customer", "invoice") if name in params}
    in_range = pagination.created_filter(params)
    found = [
        note
        for note in request.store.live(OBJECT)
        if in_range(note) and all(note[k] == v for k, v in wanted.items())
    ]
    return pagination.list_page(request.store, OBJECT, found, params, URL)
