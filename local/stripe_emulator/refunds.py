"""Refunds: ``/v1/refunds``, money given back on a succeeded charge.

A refund names the charge or the payment intent (its latest charge) and takes back all
of what is left or ``amount`` of it; the charge shows it (``amount_refunded``,
``refunded`` once nothing is left). Card refunds succeed at once in test mode. Credit notes
make their refunds through `refund`.
"""

from __future__ import annotations

from local.stripe_emulator import events, pagination
from local.stripe_emulator import params as p
from local.stripe_emulator.errors import StripeError, invalid_param, missing_param
from local.stripe_emulator.routing import ApiRequest, Router
from local.stripe_emulator.store import JsonObject, ObjectStore
from local.stripe_emulator.timeline import now_for

OBJECT = "refund"
URL = "/v1/refunds"
CHARGE_OBJECT = "charge"
INTENT_OBJECT = "payment_intent"

_REASONS = ("duplicate", "fraudulent", "requested_by_customer")
_CREATABLE = frozenset({"amount", "charge", "metadata", "payment_intent", "reason"})


def register(router: Router) -> None:
    router.object_types.add(OBJECT)
    router.add("POST", URL, create)
    router.add("GET", URL, list_refunds)
    router.add("GET", f"{URL}/{{id}}", retrieve)
    router.add("POST", f"{URL}/{{id}}", update)


def refundable(charge: JsonObject) -> int:
    """What is left to refund on a charge."""
    return int(charge["amount_captured"]) - int(charge["amount_refunded"])


def refund(
    store: ObjectStore,
    charge: JsonObject,
    amount: int,
    now: int,
    *,
    reason: str | None = None,
    metadata: dict[str, str] | None = None,
) -> JsonObject:
    """Refunds ``amount`` of a succeeded charge (checked by the caller against
    `refundable`), emitting ``refund.created`` and ``charge.refunded``."""
    created: JsonObject = {
        "id": store.new_id("re", 24),
        "object": OBJECT,
        "amount": amount,
        "balance_transaction": None,
        "charge": charge["id"],
        "created": now,
        "currency": charge["currency"],
        "customer": charge["customer"],
        "customer_account": None,
        "destination_details": {
            "card": {
                "reference_status": "pending",
                "reference_type": "acquirer_reference_number",
                "type": "refund",
            },
            "type": "card",
        },
        "metadata": dict(metadata or {}),
        "payment_intent": charge["payment_intent"],
        "payment_method": charge["payment_method"],
        "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }
    store.insert(created)
    previous = {"amount_refunded": charge["amount_refunded"], "refunded": charge["refunded"]}
    charge["amount_refunded"] = int(charge["amount_refunded"]) + amount
    charge["refunded"] = charge["amount_refunded"] >= charge["amount_captured"]
    events.emit(store, "refund.created", created, now)
    events.emit(store, "charge.refunded", charge, now, previous)
    return created


def charge_to_refund(
    store: ObjectStore, charge_id: str | None, intent_id: str | None
) -> JsonObject:
    """The succeeded charge a refund request names (a charge, or an intent's latest charge)."""
    charge: JsonObject | None = None
    if charge_id is not None:
        charge = store.require(CHARGE_OBJECT, charge_id, "charge")
    if intent_id is not None:
        intent = store.require(INTENT_OBJECT, intent_id, "payment_intent")
        if intent["status"] != "succeeded" or intent["latest_charge"] is None:
            raise StripeError(
                400,
                f"This PaymentIntent ({intent_id}) does not have a successful charge to refund.",
                code="charge_not_refundable",
                param="payment_intent",
            )
        if charge is not None and charge["payment_intent"] != intent_id:
            raise invalid_param("charge", "The charge does not belong to that payment_intent.")
        charge = store.require(CHARGE_OBJECT, intent["latest_charge"], "payment_intent")
    if charge is None:
        raise missing_param("charge")
    if charge["status"] != "succeeded":
        raise StripeError(
            400,
            f"Charge {charge['id']} has not succeeded: there is nothing to refund.",
            code="charge_not_refundable",
            param="charge",
        )
    return charge


def check_amount(charge: JsonObject, amount: int, param: str = "amount") -> None:
    left = refundable(charge)
    if left == 0:
        raise StripeError(
            400,
            f"Charge {charge['id']} has already been refunded.",
            code="charge_already_refunded",
            param=param,
        )
    if amount > left:
        raise invalid_param(
            param,
            f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left}).",
            "amount_too_large",
        )


def create(request: ApiRequest) -> JsonObject:
    params, store = request.params, request.store
    p.reject_unknown(params, _CREATABLE)
    if "charge" not in params and "payment_intent" not in params:
        raise missing_param("charge")
    charge = charge_to_refund(
        store,
        p.string(params, "charge") if "charge" in params else None,
        p.string(params, "payment_intent") if "payment_intent" in params else None,
    )
    amount = p.integer(params, "amount", minimum=1) if "amount" in params else refundable(charge)
    check_amount(charge, amount)
    reason = p.choice(params, "reason", _REASONS) if "reason" in params else None
    metadata = p.apply_metadata({}, params["metadata"]) if "metadata" in params else {}
    now = now_for(store, charge["customer"], request.now)
    return refund(store, charge, amount, now, reason=reason, metadata=metadata)


def retrieve(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, ())
    return request.store.require(OBJECT, request.path_params["id"], "refund")


def update(request: ApiRequest) -> JsonObject:
    params, store = request.params, request.store
    p.reject_unknown(params, ("metadata",))
    found = store.require(OBJECT, request.path_params["id"], "refund")
    if "metadata" in params:
        before = dict(found["metadata"])
        found["metadata"] = p.apply_metadata(found["metadata"], params["metadata"])
        if before != found["metadata"]:
            now = now_for(store, found["customer"], request.now)
            events.emit(store, "refund.updated", found, now, {"metadata": before})
    return found


def list_refunds(request: ApiRequest) -> JsonObject:
    params = request.params
    p.reject_unknown(params, pagination.LIST_PARAMS | {"charge", "payment_intent"})
    wanted = {
        name: p.string(params, name) for name in ("charge", "payment_intent") if name in params
    }
    in_range = pagination.created_filter(params)
    found = [
        each
        for each in request.store.live(OBJECT)
        if in_range(each) and all(each[k] == v for k, v in wanted.items())
    ]
    return pagination.list_page(request.store, OBJECT, found, params, URL)
