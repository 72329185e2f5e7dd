"""Charges: the record of each attempt to take money from a card (``/v1/charges/{id}``)."""

from __future__ import annotations

from local.stripe_emulator import cards, events, pagination
from local.stripe_emulator import params as p
from local.stripe_emulator.routing import ApiRequest, Router
from local.stripe_emulator.store import JsonObject, ObjectStore

OBJECT = "charge"
URL = "/v1/charges"


def register(router: Router) -> None:
    router.object_types.add(OBJECT)
    router.add("GET", URL, list_charges)
    router.add("GET", f"{URL}/{{id}}", retrieve)


def record(
    store: ObjectStore,
    now: int,
    intent: JsonObject,
    payment_method: JsonObject,
    card: cards.TestCard,
    succeeded: bool,
) -> JsonObject:
    """Stores the charge an attempt made and emits ``charge.succeeded``/``charge.failed``."""
    charge: JsonObject = {
        "id": store.new_id("ch", 24),
        "object": OBJECT,
        "amount": intent["amount"],
        "amount_captured": intent["amount"] if succeeded else 0,
        "amount_refunded": 0,
        "billing_details": payment_method["billing_details"],
        "captured": succeeded,
        "created": now,
        "currency": intent["currency"],
        "customer": intent["customer"],
        "description": intent["description"],
        "failure_code": None if succeeded else card.code,
        "failure_message": None if succeeded else cards.decline_message(card),
        "livemode": False,
        "metadata": dict(intent["metadata"]),
        "outcome": {
            "network_status": "approved_by_network" if succeeded else "declined_by_network",
            "reason": None if succeeded else card.decline_code,
            "risk_level": "normal",
            "seller_message": "Payment complete." if succeeded else "The bank declined it.",
            "type": "authorized" if succeeded else "issuer_declined",
        },
        "paid": succeeded,
        "payment_intent": intent["id"],
        "payment_method": payment_method["id"],
        "payment_method_details": {
            "card": {
                "brand": card.brand,
                "exp_month": payment_method["card"]["exp_month"],
                "exp_year": payment_method["card"]["exp_year"],
                "fingerprint": card.fingerprint,
                "funding": "credit",
                "last4": card.last4,
            },
            "type": "card",
        },
        "refunded": False,
        "status": "succeeded" if succeeded else "failed",
    }
    store.insert(charge)
    events.emit(store, "charge.succeeded" if succeeded else "charge.failed", charge, now)
    return charge


def retrieve(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, ())
    return request.store.require(OBJECT, request.path_params["id"])


def list_charges(request: ApiRequest) -> JsonObject:
    params = request.params
    p.reject_unknown(params, pagination.LIST_PARAMS | {"customer", "payment_intent"})
    wanted = {
        name: p.string(params, name) for name in ("customer", "payment_intent") if name in params
    }
    in_range = pagination.created_filter(params)
    found = [
        charge
        for charge in request.store.live(OBJECT)
        if in_range(charge) and all(charge[k] == v for k, v in wanted.items())
    ]
    return pagination.list_page(request.store, OBJECT, found, params, URL)
