"""What paying on the hosted checkout page creates, per mode, through the resources' own
seams (so their events and states are the ones the API would produce).

Called by ``checkout_sessions`` once the card is known to go through (a declining card
never gets here: the page shows the decline and nothing is created).
"""

from __future__ import annotations

from dataclasses import dataclass

from local.stripe_emulator import (
    cards,
    customers,
    invoice_lines,
    invoiceitems,
    invoices,
    payment_intents,
    pricing,
    setup_intents,
    subscriptions,
)
from local.stripe_emulator import payment_methods as methods
from local.stripe_emulator import prices as price_objects
from local.stripe_emulator.forms import FormValue, Params
from local.stripe_emulator.prorations import product_name
from local.stripe_emulator.routing import ApiRequest
from local.stripe_emulator.store import JsonObject, ObjectStore


@dataclass(frozen=True)
class Completion:
    store: ObjectStore
    now: int
    base_url: str
    session: JsonObject
    # None when the session collects no payment method (a free trial without a card).
    card: cards.TestCard | None
    # The customer went through 3-D Secure on the page for a card that requires it.
    authenticated: bool
    line_items: list[JsonObject]
    trial: JsonObject | None
    subscription_data: JsonObject
    payment_intent_data: JsonObject
    setup_intent_data: JsonObject


def complete(completion: Completion) -> None:
    session = completion.session
    customer = _customer(completion)
    payment_method = (
        methods.card_payment_method(completion.store, completion.now, completion.card)
        if completion.card is not None
        else None
    )
    if session["mode"] == "payment":
        _pay(completion, customer, payment_method)
    elif session["mode"] == "setup":
        _set_up(completion, payment_method)
    else:
        assert customer is not None, "subscription mode always has a customer"
        if payment_method is not None:
            methods.attach_to(completion.store, payment_method, customer["id"], completion.now)
        _subscribe(completion, customer, payment_method)
    session["customer"] = customer["id"] if customer else None
    session["customer_details"] = {
        "address": None,
        "email": (customer or {}).get("email") or session["customer_email"],
        "name": (customer or {}).get("name"),
        "phone": None,
        "tax_exempt": "none",
        "tax_ids": [],
    }


def _customer(completion: Completion) -> JsonObject | None:
    """The session's customer, or a new one where Checkout creates it."""
    session, store = completion.session, completion.store
    if session["customer"]:
        return store.require(customers.OBJECT, session["customer"])
    if session["mode"] == "setup":
        return None
    if (
        session["mode"] == "payment"
        and session["customer_creation"] != "always"
        and not _invoiced(session)
    ):
        return None  # as Stripe: a post-payment invoice is the one case needing a customer
    params = {"email": session["customer_email"]} if session["customer_email"] else {}
    request = ApiRequest(
        "POST", customers.URL, params, {}, store, completion.now, completion.base_url
    )
    return customers.create(request)


def _pay(
    completion: Completion, customer: JsonObject | None, payment_method: JsonObject | None
) -> None:
    assert payment_method is not None, "payment mode always collects a card"
    store, now, session = completion.store, completion.now, completion.session
    data = completion.payment_intent_data
    intent = payment_intents.new_intent(
        store,
        now,
        amount=session["amount_total"],
        currency=session["currency"],
        customer=customer["id"] if customer else None,
        payment_method=payment_method["id"],
        description=data.get("description"),
        metadata=data.get("metadata"),
    )
    intent["setup_future_usage"] = data.get("setup_future_usage")
    payment_intents.attempt(store, intent, now, completion.base_url)
    if intent["status"] == "requires_action" and completion.authenticated:
        payment_intents.authenticate(store, intent, now, succeed=True)
    assert intent["status"] == "succeeded", "the page declines cards that would fail"
    session["payment_intent"] = intent["id"]
    if _invoiced(session):
        assert customer is not None, "a post-payment invoice always has a customer"
        session["invoice"] = _post_payment_invoice(completion, customer, intent)["id"]


def _invoiced(session: JsonObject) -> bool:
    return bool((session["invoice_creation"] or {}).get("enabled"))


def _post_payment_invoice(
    completion: Completion, customer: JsonObject, intent: JsonObject
) -> JsonObject:
    """``invoice_creation[enabled]``: once the payment succeeded, Stripe makes a paid invoice
    of the session's line items (its events as any paid invoice's), paid by that payment."""
    store, now, session = completion.store, completion.now, completion.session
    invoice = invoices.draft(
        store,
        now,
        completion.base_url,
        customer,
        currency=session["currency"],
        billing_reason="manual",
        include_pending=False,
    )
    for line in completion.line_items:
        price = store.require(price_objects.OBJECT, line["price"])
        quantity = int(line["quantity"] or 1)
        item = invoiceitems.create_item(
            store,
            now,
            customer,
            amount=pricing.line_amount(price, quantity),
            currency=price["currency"],
            description=product_name(store, price),
            period=(now, now),
            quantity=quantity,
            price=price,
        )
        invoice_lines.attach_item(invoice, item)
    data = session["invoice_creation"]["invoice_data"]
    invoice.update(
        description=data["description"],
        footer=data["footer"],
        metadata=dict(data["metadata"]),
    )
    invoices.paid_by(store, invoice, intent, now)
    return invoice


def _subscribe(
    completion: Completion, customer: JsonObject, payment_method: JsonObject | None
) -> None:
    """The subscription, its first invoice paid with the card (the card becomes the
    subscription's default payment method, not the customer's, as in Stripe)."""
    store, now, session = completion.store, completion.now, completion.session
    data = completion.subscription_data
    params: Params = {
        "customer": customer["id"],
        "items": [
            {"price": item["price"]}
            if item["quantity"] is None
            else {"price": item["price"], "quantity": str(item["quantity"])}
            for item in completion.line_items
            if item["recurring"]
        ],
    }
    # One-time prices are charged once, on the first invoice, as Stripe's Checkout does.
    one_time: list[FormValue] = [
        {"price": str(item["price"]), "quantity": str(item["quantity"])}
        for item in completion.line_items
        if not item["recurring"]
    ]
    if one_time:
        params["add_invoice_items"] = one_time
    if payment_method is not None:
        params["default_payment_method"] = payment_method["id"]
    if completion.trial is not None:
        days = completion.trial["trial_period_days"]
        if days is not None:
            params["trial_period_days"] = str(days)
        else:
            params["trial_end"] = str(completion.trial["trial_end"])
    for name in ("metadata", "description", "billing_mode"):
        if name in data:
            params[name] = data[name]
    request = ApiRequest("POST", subscriptions.URL, params, {}, store, now, completion.base_url)
    created = subscriptions.create(request)
    subscription = store.require(subscriptions.OBJECT, created["id"])
    invoice = store.require(invoices.OBJECT, subscription["latest_invoice"])
    intent = invoices.current_intent(store, invoice)
    if intent is not None and intent["status"] == "requires_action" and completion.authenticated:
        payment_intents.authenticate(store, intent, now, succeed=True)
    assert invoice["status"] == "paid", "the page declines cards that would fail"
    session["subscription"] = subscription["id"]
    session["invoice"] = invoice["id"]


def _set_up(completion: Completion, payment_method: JsonObject | None) -> None:
    """Confirms the session's SetupIntent with the card: it is attached to the customer
    (not made their default: that is the application's call, as in Stripe)."""
    assert payment_method is not None, "setup mode always collects a card"
    store, now = completion.store, completion.now
    intent = store.require(setup_intents.OBJECT, completion.session["setup_intent"])
    intent.update(payment_method=payment_method["id"], status="requires_confirmation")
    setup_intents.confirm(store, intent, now, completion.base_url)
    if intent["status"] == "requires_action" and completion.authenticated:
        setup_intents.authenticate(store, intent, now, succeed=True)
    assert intent["status"] == "succeeded", "the page declines cards that would fail"
