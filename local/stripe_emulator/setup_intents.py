"""The SetupIntent resource: ``/v1/setup_intents``, saving a card for later payments.

Confirming checks the card as Stripe does when saving it: a card that declines on
attach fails the setup, one that needs 3-D Secure waits for it (`three_d_secure`), any
other is attached to the intent's customer.
"""

from __future__ import annotations

from local.stripe_emulator import cards, events, expand, pagination, three_d_secure
from local.stripe_emulator import params as p
from local.stripe_emulator import payment_methods as methods
from local.stripe_emulator.errors import StripeError
from local.stripe_emulator.routing import ApiRequest, Router
from local.stripe_emulator.store import JsonObject, ObjectStore, random_token
from local.stripe_emulator.timeline import now_for

OBJECT = "setup_intent"
URL = "/v1/setup_intents"
AUTH_PAGE = "/setup_intents/{id}/authenticate"

_MUTABLE = frozenset({"customer", "description", "metadata", "payment_method"})
_CREATABLE = _MUTABLE | {
    "confirm",
    "usage",
    "return_url",
    "payment_method_types",
    "automatic_payment_methods",
}
_CANCELABLE = ("requires_payment_method", "requires_confirmation", "requires_action")


def register(router: Router) -> None:
    router.object_types.add(OBJECT)
    router.add("POST", URL, create)
    router.add("GET", URL, list_intents)
    router.add("GET", f"{URL}/{{id}}", retrieve)
    router.add("POST", f"{URL}/{{id}}", update)
    router.add("POST", f"{URL}/{{id}}/confirm", confirm_route)
    router.add("POST", f"{URL}/{{id}}/cancel", cancel_route)
    three_d_secure.register(router, FLOW)


# -- the seam hosted pages use -----------------------------------------------------------


def new_setup_intent(
    store: ObjectStore,
    now: int,
    *,
    customer: str | None,
    payment_method: str | None,
    usage: str = "off_session",
    metadata: dict[str, str] | None = None,
) -> JsonObject:
    intent_id = store.new_id("seti", 24)
    intent: JsonObject = {
        "id": intent_id,
        "object": OBJECT,
        "application": None,
        "automatic_payment_methods": None,
        "cancellation_reason": None,
        "client_secret": f"{intent_id}_secret_{random_token(25)}",
        "created": now,
        "customer": customer,
        "description": None,
        "flow_directions": None,
        "last_setup_error": None,
        "latest_attempt": None,
        "livemode": False,
        "mandate": None,
        "metadata": dict(metadata or {}),
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": payment_method,
        "payment_method_configuration_details": None,
        "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
        "payment_method_types": ["card"],
        "single_use_mandate": None,
        "status": "requires_confirmation" if payment_method else "requires_payment_method",
        "usage": usage,
    }
    store.insert(intent)
    events.emit(store, "setup_intent.created", intent, now)
    return intent


def confirm(
    store: ObjectStore, intent: JsonObject, now: int, base_url: str, return_url: str | None = None
) -> None:
    """Checks the card; the outcome is in ``status`` and ``last_setup_error``, never raised."""
    payment_method = store.find(methods.OBJECT, intent["payment_method"] or "")
    if payment_method is None:
        raise _unexpected_state(
            "You cannot confirm this SetupIntent because it's missing a payment method."
        )
    card = methods.card_of(payment_method)
    intent["next_action"] = None
    if card.declines_on_attach:
        _fail(store, intent, methods.card_error(card, payment_method), now)
    elif card.outcome is cards.Outcome.REQUIRES_ACTION:
        three_d_secure.require_action(FLOW, intent, base_url, return_url)
        events.emit(store, "setup_intent.requires_action", intent, now)
    else:
        _succeed(store, intent, payment_method, now)


def authenticate(store: ObjectStore, intent: JsonObject, now: int, *, succeed: bool) -> None:
    payment_method = three_d_secure.begin_authentication(FLOW, store, intent)
    if succeed:
        _succeed(store, intent, payment_method, now)
    else:
        error = {
            "type": "invalid_request_error",
            "code": "setup_intent_authentication_failure",
            "message": "The latest attempt to set up the payment method has failed because "
            "authentication failed.",
            "payment_method": payment_method,
        }
        _fail(store, intent, error, now)


FLOW = three_d_secure.Flow(
    OBJECT,
    AUTH_PAGE,
    "SetupIntent",
    "setup",
    lambda intent: "Authenticate saving this card.",
    authenticate,
)


def _succeed(store: ObjectStore, intent: JsonObject, payment_method: JsonObject, now: int) -> None:
    if intent["customer"] and payment_method["customer"] is None:
        methods.attach_to(store, payment_method, intent["customer"], now)
    intent.update(status="succeeded", last_setup_error=None)
    events.emit(store, "setup_intent.succeeded", intent, now)


def _fail(store: ObjectStore, intent: JsonObject, error: JsonObject, now: int) -> None:
    intent.update(status="requires_payment_method", last_setup_error=error)
    events.emit(store, "setup_intent.setup_failed", intent, now)


def _unexpected_state(message: str) -> StripeError:
    return three_d_secure.unexpected_state(FLOW, message)


# -- routes ------------------------------------------------------------------------------


def create(request: ApiRequest) -> JsonObject:
    params, store = request.params, request.store
    p.reject_unknown(params, _CREATABLE)
    customer = methods.customer_param(store, params)
    now = now_for(store, customer, request.now)
    confirming = p.boolean(params, "confirm") if "confirm" in params else False
    usage = (
        p.choice(params, "usage", ("off_session", "on_session"))
        if "usage" in params
        else "off_session"
    )
    return_url = p.string(params, "return_url") if "return_url" in params else None
    metadata = p.apply_metadata({}, params["metadata"]) if "metadata" in params else {}
    description = p.nullable_string(params, "description") if "description" in params else None
    payment_method = methods.payment_method_param(store, now, params)
    intent = new_setup_intent(
        store,
        now,
        customer=customer,
        payment_method=payment_method,
        usage=usage,
        metadata=metadata,
    )
    intent["description"] = description
    if confirming:
        _confirm(request, intent, now, return_url)
    return _render(request, intent)


def retrieve(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, ("client_secret",))
    return _render(request, request.store.require(OBJECT, request.path_params["id"], "intent"))


def update(request: ApiRequest) -> JsonObject:
    params, store = request.params, request.store
    intent = store.require(OBJECT, request.path_params["id"], "intent")
    p.reject_unknown(params, _MUTABLE)
    if intent["status"] not in ("requires_payment_method", "requires_confirmation"):
        raise _unexpected_state(f"This SetupIntent's status is {intent['status']}.")
    now = now_for(store, intent["customer"], request.now)
    changes: JsonObject = {}
    if "customer" in params:
        changes["customer"] = methods.customer_param(store, params)
    if "description" in params:
        changes["description"] = p.nullable_string(params, "description")
    if "metadata" in params:
        changes["metadata"] = p.apply_metadata(intent["metadata"], params["metadata"])
    if "payment_method" in params:
        changes["payment_method"] = methods.payment_method_param(store, now, params)
        changes["status"] = "requires_confirmation"
    previous = {name: intent[name] for name in changes if intent[name] != changes[name]}
    intent.update(changes)
    if previous:
        events.emit(store, "setup_intent.updated", intent, now, previous)
    return _render(request, intent)


def confirm_route(request: ApiRequest) -> JsonObject:
    params, store = request.params, request.store
    intent = store.require(OBJECT, request.path_params["id"], "intent")
    p.reject_unknown(params, ("payment_method", "return_url"))
    if intent["status"] not in ("requires_payment_method", "requires_confirmation"):
        raise _unexpected_state(
            f"You cannot confirm this SetupIntent because it has a status of {intent['status']}."
        )
    now = now_for(store, intent["customer"], request.now)
    return_url = p.string(params, "return_url") if "return_url" in params else None
    if "payment_method" in params:
        intent["payment_method"] = methods.payment_method_param(store, now, params)
    _confirm(request, intent, now, return_url)
    return _render(request, intent)


def cancel_route(request: ApiRequest) -> JsonObject:
    params, store = request.params, request.store
    intent = store.require(OBJECT, request.path_params["id"], "intent")
    p.reject_unknown(params, ("cancellation_reason",))
    if intent["status"] not in _CANCELABLE:
        raise _unexpected_state(
            f"You cannot cancel this SetupIntent because it has a status of {intent['status']}."
        )
    reason = (
        p.choice(params, "cancellation_reason", ("abandoned", "duplicate", "requested_by_customer"))
        if "cancellation_reason" in params
        else None
    )
    intent.update(status="canceled", cancellation_reason=reason, next_action=None)
    events.emit(
        store, "setup_intent.canceled", intent, now_for(store, intent["customer"], request.now)
    )
    return _render(request, intent)


def list_intents(request: ApiRequest) -> JsonObject:
    params = request.params
    p.reject_unknown(params, pagination.LIST_PARAMS | {"customer", "payment_method"})
    wanted = {k: p.string(params, k) for k in ("customer", "payment_method") if k in params}
    in_range = pagination.created_filter(params)
    found = [
        intent
        for intent in request.store.live(OBJECT)
        if in_range(intent) and all(intent[k] == v for k, v in wanted.items())
    ]
    return pagination.list_page(request.store, OBJECT, found, params, URL)


def _confirm(request: ApiRequest, intent: JsonObject, now: int, return_url: str | None) -> None:
    """Through the API a failed setup answers 402 with the intent, as Stripe does."""
    confirm(request.store, intent, now, request.base_url, return_url)
    error = intent["last_setup_error"]
    if intent["status"] == "requires_payment_method" and error is not None:
        raise StripeError(
            402,
            error["message"],
            error_type="card_error",
            code=error["code"],
            extra={
                "decline_code": error.get("decline_code"),
                "setup_intent": _render(request, intent),
            },
        )


def _render(request: ApiRequest, intent: JsonObject) -> JsonObject:
    return expand.render(request.store, intent, expand.requested(request.params))
