"""The PaymentIntent resource: ``/v1/payment_intents``.

What a confirmation does is decided by the card (`cards`). A card that needs
authentication leaves the intent waiting for 3-D Secure (`three_d_secure`).
"""

from __future__ import annotations

from local.stripe_emulator import (
    cards,
    charges,
    events,
    expand,
    hooks,
    hosted,
    pagination,
    three_d_secure,
)
from local.stripe_emulator import params as p
from local.stripe_emulator import payment_methods as methods
from local.stripe_emulator.errors import StripeError, invalid_param, missing_param
from local.stripe_emulator.forms import Params
from local.stripe_emulator.routing import ApiRequest, Router
from local.stripe_emulator.store import JsonObject, ObjectStore, random_token
from local.stripe_emulator.timeline import now_for

OBJECT = "payment_intent"
URL = "/v1/payment_intents"
AUTH_PAGE = "/payment_intents/{id}/authenticate"

_MINIMUM_AMOUNT = 50
_OPEN = ("requires_payment_method", "requires_confirmation", "requires_action")
_CONFIRM_PARAMS = frozenset(
    {"payment_method", "off_session", "return_url", "setup_future_usage", "payment_method_types"}
)
_MUTABLE = frozenset({"amount", "currency", "customer", "description", "metadata"})
_CREATABLE = (
    _MUTABLE
    | _CONFIRM_PARAMS
    | {"confirm", "automatic_payment_methods", "capture_method", "receipt_email"}
)
_CANCELLATION_REASONS = ("duplicate", "fraudulent", "requested_by_customer", "abandoned")


def register(router: Router) -> None:
    router.object_types.add(OBJECT)
    router.add("POST", URL, create)
    router.add("GET", URL, list_intents)
    router.add("GET", f"{URL}/{{id}}", retrieve)
    router.add("POST", f"{URL}/{{id}}", update)
    router.add("POST", f"{URL}/{{id}}/confirm", confirm)
    router.add("POST", f"{URL}/{{id}}/cancel", cancel)
    three_d_secure.register(router, FLOW)


# -- the seam invoices and the hosted pages use ------------------------------------------


def new_intent(
    store: ObjectStore,
    now: int,
    *,
    amount: int,
    currency: str,
    customer: str | None,
    payment_method: str | None,
    description: str | None = None,
    metadata: dict[str, str] | None = None,
) -> JsonObject:
    intent_id = store.new_id("pi", 24)
    intent: JsonObject = {
        "id": intent_id,
        "object": OBJECT,
        "amount": amount,
        "amount_capturable": 0,
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic",
        "client_secret": f"{intent_id}_secret_{random_token(25)}",
        "confirmation_method": "automatic",
        "created": now,
        "currency": currency,
        "customer": customer,
        "description": description,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": dict(metadata or {}),
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": payment_method,
        "payment_method_options": {},
        "payment_method_types": ["card"],
        "processing": None,
        "receipt_email": None,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "source": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "requires_confirmation" if payment_method else "requires_payment_method",
        "transfer_data": None,
        "transfer_group": None,
    }
    store.insert(intent)
    events.emit(store, "payment_intent.created", intent, now)
    return intent


def attempt(
    store: ObjectStore,
    intent: JsonObject,
    now: int,
    base_url: str,
    *,
    off_session: bool = False,
    return_url: str | None = None,
) -> None:
    """Tries to charge the intent's payment method; the card decides what happens.

    Never raises for a card outcome: the intent's status and ``last_payment_error``
    tell the caller (the API route turns a decline into a 402).
    """
    payment_method = store.find(methods.OBJECT, intent["payment_method"] or "")
    if payment_method is None:
        raise _unexpected_state(
            "You cannot confirm this PaymentIntent because it's missing a payment method. "
            "To confirm the payment, first update it with a payment method."
        )
    card = methods.card_of(payment_method)
    intent["next_action"] = None
    if card.outcome is cards.Outcome.SUCCEEDS:
        _succeed(store, intent, payment_method, now)
    elif card.outcome is cards.Outcome.DECLINES:
        charge = charges.record(store, now, intent, payment_method, card, succeeded=False)
        intent["latest_charge"] = charge["id"]
        intent["last_payment_error"] = {
            **methods.card_error(card, payment_method),
            "charge": charge["id"],
        }
        intent["status"] = "requires_payment_method"
        events.emit(store, "payment_intent.payment_failed", intent, now)
    else:
        three_d_secure.require_action(FLOW, intent, base_url, return_url)
        if off_session:
            intent["last_payment_error"] = {
                "type": "card_error",
                "code": "authentication_required",
                "decline_code": "authentication_required",
                "message": "Your card was declined. This transaction requires authentication.",
                "payment_method": payment_method,
            }
        events.emit(store, "payment_intent.requires_action", intent, now)
    hooks.announce(store, hooks.PAYMENT_INTENT_ATTEMPTED, intent, now)


def authenticate(store: ObjectStore, intent: JsonObject, now: int, *, succeed: bool) -> None:
    """The customer completes (or fails) 3-D Secure for an intent in ``requires_action``."""
    payment_method = three_d_secure.begin_authentication(FLOW, store, intent)
    if succeed:
        _succeed(store, intent, payment_method, now)
    else:
        intent["status"] = "requires_payment_method"
        intent["last_payment_error"] = {
            "type": "invalid_request_error",
            "code": "payment_intent_authentication_failure",
            "message": "The provided PaymentMethod has failed authentication. You can provide "
            "payment_method_data or a new PaymentMethod to attempt to fulfill this "
            "PaymentIntent again.",
            "payment_method": payment_method,
        }
        events.emit(store, "payment_intent.payment_failed", intent, now)
    hooks.announce(store, hooks.PAYMENT_INTENT_ATTEMPTED, intent, now)


def cancel_intent(store: ObjectStore, intent: JsonObject, now: int, reason: str | None) -> None:
    if intent["status"] not in _OPEN:
        raise _unexpected_state(
            "You cannot cancel this PaymentIntent because it has a status of "
            f"{intent['status']}. Only a PaymentIntent with one of the following statuses may "
            f"be canceled: {', '.join(_OPEN)}."
        )
    intent.update(status="canceled", canceled_at=now, cancellation_reason=reason, next_action=None)
    events.emit(store, "payment_intent.canceled", intent, now)


FLOW = three_d_secure.Flow(
    OBJECT,
    AUTH_PAGE,
    "PaymentIntent",
    "payment",
    lambda intent: (
        f"Authenticate a payment of {hosted.money(intent['amount'], intent['currency'])}."
    ),
    authenticate,
)


def _succeed(store: ObjectStore, intent: JsonObject, payment_method: JsonObject, now: int) -> None:
    card = methods.card_of(payment_method)
    charge = charges.record(store, now, intent, payment_method, card, succeeded=True)
    intent.update(
        status="succeeded",
        amount_received=intent["amount"],
        latest_charge=charge["id"],
        last_payment_error=None,
    )
    if intent["setup_future_usage"] and intent["customer"] and not payment_method["customer"]:
        methods.attach_to(store, payment_method, intent["customer"], now)
    events.emit(store, "payment_intent.succeeded", intent, now)


def _unexpected_state(message: str) -> StripeError:
    return three_d_secure.unexpected_state(FLOW, message)


# -- routes ------------------------------------------------------------------------------


def create(request: ApiRequest) -> JsonObject:
    params, store = request.params, request.store
    p.reject_unknown(params, _CREATABLE)
    for required in ("amount", "currency"):
        if required not in params:
            raise missing_param(required)
    amount = p.integer(params, "amount")
    if amount < _MINIMUM_AMOUNT:
        raise invalid_param(
            "amount",
            f"Amount must be at least {_MINIMUM_AMOUNT} cents",
            "amount_too_small",
        )
    currency = p.string(params, "currency").lower()
    customer = methods.customer_param(store, params)
    now = now_for(store, customer, request.now)
    if "capture_method" in params:
        p.choice(params, "capture_method", ("automatic", "automatic_async"))
    confirming = p.boolean(params, "confirm") if "confirm" in params else False
    _session_options(params)
    future_usage = _future_usage(params) if "setup_future_usage" in params else None
    payment_method = methods.payment_method_param(store, now, params)
    metadata = p.apply_metadata({}, params["metadata"]) if "metadata" in params else {}
    description = p.nullable_string(params, "description") if "description" in params else None
    intent = new_intent(
        store,
        now,
        amount=amount,
        currency=currency,
        customer=customer,
        payment_method=payment_method,
        description=description,
        metadata=metadata,
    )
    intent["setup_future_usage"] = future_usage
    if confirming:
        _confirm(request, intent, now)
    return _render(request, intent)


def retrieve(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, ("client_secret",))
    intent = request.store.require(OBJECT, request.path_params["id"], "intent")
    return _render(request, intent)


def update(request: ApiRequest) -> JsonObject:
    params, store = request.params, request.store
    intent = store.require(OBJECT, request.path_params["id"], "intent")
    p.reject_unknown(params, _MUTABLE | {"payment_method", "setup_future_usage"})
    if intent["status"] not in ("requires_payment_method", "requires_confirmation"):
        raise _unexpected_state(
            f"This PaymentIntent's status is {intent['status']}: it cannot be updated."
        )
    now = now_for(store, intent["customer"], request.now)
    changes: JsonObject = {}
    if "amount" in params:
        changes["amount"] = p.integer(params, "amount", minimum=_MINIMUM_AMOUNT)
    if "currency" in params:
        changes["currency"] = p.string(params, "currency").lower()
    if "customer" in params:
        changes["customer"] = methods.customer_param(store, params)
    if "description" in params:
        changes["description"] = p.nullable_string(params, "description")
    if "metadata" in params:
        changes["metadata"] = p.apply_metadata(intent["metadata"], params["metadata"])
    if "setup_future_usage" in params:
        changes["setup_future_usage"] = _future_usage(params)
    if "payment_method" in params:
        changes["payment_method"] = methods.payment_method_param(store, now, params)
        changes["status"] = "requires_confirmation"
    previous = {name: intent[name] for name in changes if intent[name] != changes[name]}
    intent.update(changes)
    if previous:
        events.emit(store, "payment_intent.updated", intent, now, previous)
    return _render(request, intent)


def confirm(request: ApiRequest) -> JsonObject:
    params, store = request.params, request.store
    intent = store.require(OBJECT, request.path_params["id"], "intent")
    p.reject_unknown(params, _CONFIRM_PARAMS)
    if intent["status"] not in ("requires_payment_method", "requires_confirmation"):
        raise _unexpected_state(
            f"You cannot confirm this PaymentIntent because it has a status of {intent['status']}."
        )
    now = now_for(store, intent["customer"], request.now)
    _session_options(params)
    future_usage = (
        _future_usage(params) if "setup_future_usage" in params else intent["setup_future_usage"]
    )
    if "payment_method" in params:
        intent["payment_method"] = methods.payment_method_param(store, now, params)
    intent["setup_future_usage"] = future_usage
    _confirm(request, intent, now)
    return _render(request, intent)


def cancel(request: ApiRequest) -> JsonObject:
    params, store = request.params, request.store
    intent = store.require(OBJECT, request.path_params["id"], "intent")
    p.reject_unknown(params, ("cancellation_reason",))
    reason = (
        p.choice(params, "cancellation_reason", _CANCELLATION_REASONS)
        if "cancellation_reason" in params
        else None
    )
    cancel_intent(store, intent, now_for(store, intent["customer"], request.now), reason)
    return _render(request, intent)


def list_intents(request: ApiRequest) -> JsonObject:
    params = request.params
    p.reject_unknown(params, pagination.LIST_PARAMS | {"customer"})
    customer = p.string(params, "customer") if "customer" in params else None
    in_range = pagination.created_filter(params)
    found = [
        intent
        for intent in request.store.live(OBJECT)
        if in_range(intent) and (customer is None or intent["customer"] == customer)
    ]
    page = pagination.list_page(request.store, OBJECT, found, params, URL)
    return expand.render(request.store, page, expand.requested(params))


def _session_options(params: Params) -> tuple[bool, str | None]:
    """(off_session, return_url): options of one confirmation, not stored on the intent."""
    off_session = p.boolean(params, "off_session") if "off_session" in params else False
    return_url = p.string(params, "return_url") if "return_url" in params else None
    return off_session, return_url


def _confirm(request: ApiRequest, intent: JsonObject, now: int) -> None:
    """Confirms through the API: a declined card answers 402, as Stripe does."""
    off_session, return_url = _session_options(request.params)
    attempt(
        request.store,
        intent,
        now,
        request.base_url,
        off_session=off_session,
        return_url=return_url,
    )
    error = intent["last_payment_error"]
    if error is not None and intent["status"] != "succeeded":
        raise StripeError(
            402,
            error["message"],
            error_type="card_error",
            code=error["code"],
            extra={
                "decline_code": error.get("decline_code"),
                "charge": error.get("charge"),
                "payment_intent": _render(request, intent),
                "payment_method": error.get("payment_method"),
            },
        )


def _future_usage(params: Params) -> str | None:
    if params["setup_future_usage"] == "":
        return None
    return p.choice(params, "setup_future_usage", ("off_session", "on_session"))


def _render(request: ApiRequest, intent: JsonObject) -> JsonObject:
    return expand.render(request.store, intent, expand.requested(request.params))
