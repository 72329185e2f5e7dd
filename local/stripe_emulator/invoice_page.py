"""The hosted invoice page (``hosted_invoice_url``): an open invoice paid with a card typed
in (or the card on file), or its payment authenticated when the bank asks for 3-D Secure."""

from __future__ import annotations

import html

from local.stripe_emulator import cards, hosted, invoices
from local.stripe_emulator import payment_intents as intents
from local.stripe_emulator import payment_methods as methods
from local.stripe_emulator.routing import PageRequest, PageResponse, Router
from local.stripe_emulator.store import JsonObject, ObjectStore
from local.stripe_emulator.timeline import now_for


def register(router: Router) -> None:
    router.add_page("GET", invoices.PAGE, hosted_page)
    router.add_page("POST", invoices.PAGE, hosted_page_submit)


def hosted_page(request: PageRequest) -> PageResponse:
    invoice = request.store.require(invoices.OBJECT, request.path_params["id"], "invoice")
    return 200, _page(request.store, invoice, None), {}


def hosted_page_submit(request: PageRequest) -> PageResponse:
    """Pays the invoice with the card typed in (or the card on file), or authenticates."""
    store = request.store
    invoice = store.require(invoices.OBJECT, request.path_params["id"], "invoice")
    now = now_for(store, invoice["customer"], request.now)
    if invoice["status"] != "open":
        return 409, _page(store, invoice, f"This invoice is {invoice['status']}."), {}
    intent = invoices.current_intent(store, invoice)
    action = request.form.get("action", "pay")
    if action in ("authenticate", "fail_authentication"):
        if intent is None or intent["status"] != "requires_action":
            return 409, _page(store, invoice, "There is nothing to authenticate."), {}
        intents.authenticate(store, intent, now, succeed=action == "authenticate")
    elif action == "pay":
        number = request.form.get("card_number", "").strip()
        chosen = None
        if number:
            card = cards.card_for_number(number)
            if card is None:
                return 402, _page(store, invoice, "Your card number is incorrect."), {}
            chosen = methods.card_payment_method(store, now, card)["id"]
        invoices.pay(store, invoice, now, request.base_url, chosen)
    else:
        return 400, _page(store, invoice, f"Unknown action: {action}"), {}
    if invoice["status"] == "paid":
        return 200, _page(store, invoice, "Thank you: the invoice is paid."), {}
    intent = invoices.current_intent(store, invoice)
    if intent is not None and intent["status"] == "requires_action":
        return 200, _page(store, invoice, "Your bank asks you to authenticate this payment."), {}
    error = intent["last_payment_error"] if intent else None
    message = error["message"] if error else "No card to charge."
    return 402, _page(store, invoice, message), {}


def _page(store: ObjectStore, invoice: JsonObject, notice: str | None) -> str:
    def money(amount: int) -> str:
        return hosted.money(amount, invoice["currency"])

    rows = "".join(
        f"<tr><td>{html.escape(str(line['description'] or ''))}</td>"
        f"<td>{money(int(line['amount']))}</td></tr>"
        for line in invoice["lines"]["data"]
    )
    parts = [
        f"<h1>Invoice {html.escape(invoice['number'] or invoice['id'])}</h1>",
        f'<p>Status: <span id="status">{html.escape(invoice["status"])}</span></p>',
        f"<p>Date: {hosted.date(invoice['created'])}"
        + (f", due {hosted.date(invoice['due_date'])}" if invoice.get("due_date") else "")
        + "</p>",
        f'<p>Amount due: <span id="amount_due">{money(int(invoice["amount_due"]))}</span></p>',
        f"<table>{rows}</table>",
    ]
    if notice:
        parts.append(f'<p id="notice">{html.escape(notice)}</p>')
    intent = invoices.current_intent(store, invoice)
    if invoice["status"] == "open" and intent is not None:
        if intent["status"] == "requires_action":
            parts.append(
                '<form method="post"><button name="action" value="authenticate">'
                "Authenticate payment</button> "
                '<button name="action" value="fail_authentication">Fail authentication'
                "</button></form>"
            )
        else:
            parts.append(
                '<form method="post"><input type="hidden" name="action" value="pay">'
                '<label>Card number <input name="card_number" autocomplete="cc-number">'
                '</label> <button type="submit">Pay</button></form>'
            )
    title = html.escape(f"Invoice {invoice['number'] or invoice['id']}")
    return (
        f"<!doctype html><html><head><title>{title}</title></head>"
        f"<body>{''.join(parts)}</body></html>"
    )
