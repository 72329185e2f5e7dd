"""The PaymentMethod resource: ``/v1/payment_methods`` and a customer's saved cards.

Only cards. Stripe's test ids (``pm_card_visa``...) are accepted wherever a payment
method id is: each use makes a new ``pm_...`` object with that test card, as in Stripe.
"""

from __future__ import annotations

from local.stripe_emulator import cards, events, pagination
from local.stripe_emulator import params as p
from local.stripe_emulator.errors import StripeError, invalid_param, missing_param
from local.stripe_emulator.forms import Params
from local.stripe_emulator.routing import ApiRequest, Router
from local.stripe_emulator.store import JsonObject, ObjectStore

OBJECT = "payment_method"
URL = "/v1/payment_methods"
CUSTOMER = "customer"

_BILLING_DETAILS = ("address", "email", "name", "phone")
_ADDRESS_FIELDS = ("city", "country", "line1", "line2", "postal_code", "state")
_CARD_FIELDS = ("number", "exp_month", "exp_year", "cvc")
_CREATABLE = frozenset({"type", "card", "billing_details", "metadata", "allow_redisplay"})
_UPDATABLE = frozenset({"billing_details", "metadata", "allow_redisplay", "card"})
_LIST_FILTERS = frozenset({"customer", "type", "allow_redisplay"})


def register(router: Router) -> None:
    router.object_types.add(OBJECT)
    router.add("POST", URL, create)
    router.add("GET", URL, list_payment_methods)
    router.add("GET", f"{URL}/{{id}}", retrieve)
    router.add("POST", f"{URL}/{{id}}", update)
    router.add("POST", f"{URL}/{{id}}/attach", attach)
    router.add("POST", f"{URL}/{{id}}/detach", detach)
    router.add("GET", "/v1/customers/{customer}/payment_methods", list_for_customer)
    router.add("GET", "/v1/customers/{customer}/payment_methods/{id}", retrieve_for_customer)


# -- the seam other resources and the hosted pages use -----------------------------------


def card_payment_method(
    store: ObjectStore, now: int, card: cards.TestCard, exp_month: int = 12, exp_year: int = 2034
) -> JsonObject:
    """A new, unattached card PaymentMethod, stored."""
    return store.insert(
        {
            "id": store.new_id("pm", 24),
            "object": OBJECT,
            "allow_redisplay": "unspecified",
            "billing_details": {
                "address": dict.fromkeys(_ADDRESS_FIELDS),
                "email": None,
                "name": None,
                "phone": None,
            },
            "card": {
                "brand": card.brand,
                "checks": {
                    "address_line1_check": None,
                    "address_postal_code_check": None,
                    "cvc_check": "pass",
                },
                "country": "US",
                "display_brand": card.brand,
                "exp_month": exp_month,
                "exp_year": exp_year,
                "fingerprint": card.fingerprint,
                "funding": "credit",
                "generated_from": None,
                "last4": card.last4,
                "networks": {"available": [card.brand], "preferred": None},
                "three_d_secure_usage": {"supported": True},
                "wallet": None,
            },
            "created": now,
            "customer": None,
            "livemode": False,
            "metadata": {},
            "type": "card",
        }
    )


def resolve(store: ObjectStore, now: int, payment_method_id: str, param: str) -> JsonObject:
    """The PaymentMethod a request names; a test id (``pm_card_visa``) makes a new one."""
    test_card = cards.TEST_PAYMENT_METHODS.get(payment_method_id)
    if test_card is not None:
        return card_payment_method(store, now, test_card)
    payment_method = store.find(OBJECT, payment_method_id)
    if payment_method is None:
        raise StripeError(
            400 if param != "id" else 404,
            f"No such PaymentMethod: '{payment_method_id}'",
            code="resource_missing",
            param=param,
            replayable=False,
        )
    return payment_method


def card_of(payment_method: JsonObject) -> cards.TestCard:
    return cards.outcome_of(payment_method["card"])


def card_error(card: cards.TestCard, payment_method: JsonObject | None) -> JsonObject:
    """Stripe's ``last_payment_error`` / error body for a declined card."""
    error: JsonObject = {
        "type": "card_error",
        "code": card.code or "card_declined",
        "decline_code": card.decline_code,
        "doc_url": "https://stripe.com/docs/error-codes/card-declined",
        "message": cards.decline_message(card),
    }
    if payment_method is not None:
        error["payment_method"] = payment_method
    return error


def attach_to(store: ObjectStore, payment_method: JsonObject, customer_id: str, now: int) -> None:
    """Attaches (Stripe checks the card at this point: some test cards decline here)."""
    owner = payment_method["customer"]
    if owner == customer_id:
        return
    if owner is not None:
        raise StripeError(
            400,
            "The payment method you provided has already been attached to a customer.",
            code="payment_method_unexpected_state",
            param="payment_method",
        )
    card = card_of(payment_method)
    if card.declines_on_attach:
        body = card_error(card, None)
        raise StripeError(
            402,
            body["message"],
            error_type="card_error",
            code=body["code"],
            extra={"decline_code": card.decline_code},
        )
    payment_method["customer"] = customer_id
    events.emit(store, "payment_method.attached", payment_method, now)


def require_customer(store: ObjectStore, customer_id: str, param: str = "customer") -> JsonObject:
    customer = store.find(CUSTOMER, customer_id)
    if customer is None or store.is_deleted(customer_id):
        raise StripeError(
            400 if param != "id" else 404,
            f"No such customer: '{customer_id}'",
            code="resource_missing",
            param=param,
            replayable=False,
        )
    return customer


# -- an intent's ``customer`` and ``payment_method`` parameters (payment and setup intents) --


def customer_param(store: ObjectStore, params: Params) -> str | None:
    """The id of the customer ``params`` names; None when it names none (or "")."""
    if "customer" not in params or params["customer"] == "":
        return None
    return str(require_customer(store, p.string(params, "customer"))["id"])


def payment_method_param(store: ObjectStore, now: int, params: Params) -> str | None:
    """The id of the payment method ``params`` names (a test card's name makes one), which
    must not belong to another customer than ``params``' own; None when it names none."""
    if "payment_method" not in params or params["payment_method"] == "":
        return None
    payment_method = resolve(store, now, p.string(params, "payment_method"), "payment_method")
    owner = payment_method["customer"]
    customer = params.get("customer")
    if owner is not None and isinstance(customer, str) and customer and owner != customer:
        raise invalid_param(
            "payment_method",
            "The provided PaymentMethod belongs to another customer.",
            "payment_method_unexpected_state",
        )
    return str(payment_method["id"])


# -- routes ------------------------------------------------------------------------------


def create(request: ApiRequest) -> JsonObject:
    params = request.params
    p.reject_unknown(params, _CREATABLE)
    if "type" not in params:
        raise missing_param("type")
    p.choice(params, "type", ("card",))
    raw = p.hash_or_null(params, "card") if "card" in params else None
    if raw is None:
        raise missing_param("card")
    with p.nested("card"):
        p.reject_unknown(raw, _CARD_FIELDS, prefix="card")
        for required in ("number", "exp_month", "exp_year"):
            if required not in raw:
                raise missing_param(required)
        exp_month = p.integer(raw, "exp_month", minimum=1, maximum=12)
        exp_year = p.integer(raw, "exp_year", minimum=2000, maximum=2100)
        card = cards.card_for_number(p.string(raw, "number"))
    if card is None:
        raise StripeError(
            402,
            "Your card number is incorrect.",
            error_type="card_error",
            code="incorrect_number",
            param="card[number]",
        )
    updated: JsonObject = {"billing_details": _empty_billing_details(), "metadata": {}}
    _apply(updated, params)
    payment_method = card_payment_method(request.store, request.now, card, exp_month, exp_year)
    payment_method.update(updated)
    return payment_method


def retrieve(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, ())
    return resolve(request.store, request.now, request.path_params["id"], "id")


def update(request: ApiRequest) -> JsonObject:
    payment_method = resolve(request.store, request.now, request.path_params["id"], "id")
    p.reject_unknown(request.params, _UPDATABLE)
    updated = {
        "billing_details": dict(payment_method["billing_details"]),
        "metadata": payment_method["metadata"],
        "allow_redisplay": payment_method["allow_redisplay"],
        "card": dict(payment_method["card"]),
    }
    _apply(updated, request.params)
    previous = {k: payment_method[k] for k in updated if payment_method[k] != updated[k]}
    payment_method.update(updated)
    events.emit(request.store, "payment_method.updated", payment_method, request.now, previous)
    return payment_method


def attach(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, ("customer",))
    if "customer" not in request.params:
        raise missing_param("customer")
    customer = require_customer(request.store, p.string(request.params, "customer"))
    payment_method = resolve(request.store, request.now, request.path_params["id"], "id")
    attach_to(request.store, payment_method, customer["id"], request.now)
    return payment_method


def detach(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, ())
    store = request.store
    payment_method = resolve(store, request.now, request.path_params["id"], "id")
    customer_id = payment_method["customer"]
    if customer_id is None:
        raise StripeError(
            400,
            "The payment method you provided is not attached to a customer so detachment is "
            "impossible.",
            code="payment_method_unexpected_state",
        )
    payment_method["customer"] = None
    events.emit(
        store,
        "payment_method.detached",
        payment_method,
        request.now,
        {"customer": customer_id},
    )
    customer = store.find(CUSTOMER, customer_id)
    settings = customer["invoice_settings"] if customer else None
    if customer and settings and settings["default_payment_method"] == payment_method["id"]:
        # Stripe unsets a default that no longer belongs to the customer.
        settings["default_payment_method"] = None
        events.emit(
            store,
            "customer.updated",
            customer,
            request.now,
            {"invoice_settings": {"default_payment_method": payment_method["id"]}},
        )
    return payment_method


def list_payment_methods(request: ApiRequest) -> JsonObject:
    params = request.params
    p.reject_unknown(params, pagination.LIST_PARAMS | _LIST_FILTERS)
    customer_id = p.string(params, "customer") if "customer" in params else None
    if customer_id is not None:
        require_customer(request.store, customer_id)
    return _page(request, customer_id, URL)


def list_for_customer(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, pagination.LIST_PARAMS | _LIST_FILTERS - {"customer"})
    customer_id = request.path_params["customer"]
    require_customer(request.store, customer_id, "customer")
    return _page(request, customer_id, f"/v1/customers/{customer_id}/payment_methods")


def retrieve_for_customer(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, ())
    customer_id = request.path_params["customer"]
    require_customer(request.store, customer_id, "customer")
    payment_method = resolve(request.store, request.now, request.path_params["id"], "id")
    if payment_method["customer"] != customer_id:
        raise StripeError(
            404,
            f"Customer {customer_id} does not have a payment method with ID {payment_method['id']}",
            code="resource_missing",
            param="payment_method",
        )
    return payment_method


def _page(request: ApiRequest, customer_id: str | None, url: str) -> JsonObject:
    params = request.params
    if "type" in params:
        p.choice(params, "type", ("card",))
    in_range = pagination.created_filter(params)
    methods = [
        pm
        for pm in request.store.live(OBJECT)
        if in_range(pm) and (customer_id is None or pm["customer"] == customer_id)
    ]
    return pagination.list_page(request.store, OBJECT, methods, params, url)


def _empty_billing_details() -> JsonObject:
    return {
        "address": dict.fromkeys(_ADDRESS_FIELDS),
        "email": None,
        "name": None,
        "phone": None,
    }


def _apply(payment_method: JsonObject, params: Params) -> None:
    if "metadata" in params:
        payment_method["metadata"] = p.apply_metadata(
            payment_method["metadata"], params["metadata"]
        )
    if "allow_redisplay" in params:
        payment_method["allow_redisplay"] = p.choice(
            params, "allow_redisplay", ("always", "limited", "unspecified")
        )
    if "billing_details" in params:
        raw = p.hash_or_null(params, "billing_details") or {}
        with p.nested("billing_details"):
            p.reject_unknown(raw, _BILLING_DETAILS, prefix="billing_details")
            details = payment_method["billing_details"]
            for field in ("email", "name", "phone"):
                if field in raw:
                    details[field] = p.nullable_string(raw, field)
            if "address" in raw:
                details["address"] = p.string_hash(
                    raw, "address", _ADDRESS_FIELDS
                ) or dict.fromkeys(_ADDRESS_FIELDS)
    if "card" in params and "card" in payment_method:
        raw = p.hash_or_null(params, "card") or {}
        with p.nested("card"):
            p.reject_unknown(raw, ("exp_month", "exp_year"), prefix="card")
            card = payment_method["card"]
            if "exp_month" in raw:
                card["exp_month"] = p.integer(raw, "exp_month", minimum=1, maximum=12)
            if "exp_year" in raw:
                card["exp_year"] = p.integer(raw, "exp_year", minimum=2000, maximum=2100)


def usable_default(store: ObjectStore, customer: JsonObject) -> JsonObject | None:
    """The customer's default card for invoices, if it is still attached to them."""
    default_id = customer["invoice_settings"].get("default_payment_method")
    payment_method = store.find(OBJECT, default_id) if default_id else None
    if payment_method is None or payment_method["customer"] != customer["id"]:
        return None
    return payment_method


def invalid_default(param: str, payment_method_id: str, customer_id: str) -> StripeError:
    return invalid_param(
        param,
        f"The customer does not have a payment method with the ID {payment_method_id}. The "
        "payment method must be attached to the customer.",
        "resource_missing",
    )
