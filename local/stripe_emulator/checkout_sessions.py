"""Checkout Sessions: ``/v1/checkout/sessions``.

A session is created ``open`` with a ``url`` to its hosted page (``checkout_page``), which
completes it; its parameters are checked by ``checkout_params``. What a session keeps for
its completion (line items, trial, the ``*_data`` hashes) sits under ``PRIVATE`` and is
never shown (see ``public``). An open session expires at ``expires_at``: when next looked
at, or when its customer's test clock passes that time.
"""

from __future__ import annotations

import copy

from local.stripe_emulator import (
    checkout_params,
    events,
    expand,
    hooks,
    pagination,
    prices,
    products,
    setup_intents,
    timeline,
)
from local.stripe_emulator import params as p
from local.stripe_emulator.errors import StripeError, missing_param
from local.stripe_emulator.forms import Params
from local.stripe_emulator.routing import ApiRequest, Router
from local.stripe_emulator.store import JsonObject, ObjectStore

OBJECT = "checkout.session"
URL = "/v1/checkout/sessions"
PAGE = "/c/pay"

_CREATABLE = frozenset(
    {
        "allow_promotion_codes",
        "cancel_url",
        "client_reference_id",
        "currency",
        "customer",
        "customer_creation",
        "customer_email",
        "expires_at",
        "invoice_creation",
        "line_items",
        "locale",
        "metadata",
        "mode",
        "payment_intent_data",
        "payment_method_collection",
        "payment_method_types",
        "setup_intent_data",
        "subscription_data",
        "success_url",
        "ui_mode",
    }
)
# What a session keeps for its completion but never shows (see ``public``).
PRIVATE = "_private"


# Every field of a new session, in Stripe's order; `_create` fills those set to None here.
_BLANK: JsonObject = {
    "id": None,
    "object": OBJECT,
    "after_expiration": None,
    "allow_promotion_codes": None,
    "amount_subtotal": None,
    "amount_total": None,
    "automatic_tax": {"enabled": False, "liability": None, "status": None},
    "billing_address_collection": None,
    "cancel_url": None,
    "client_reference_id": None,
    "client_secret": None,
    "consent": None,
    "consent_collection": None,
    "created": None,
    "currency": None,
    "custom_fields": [],
    "custom_text": {
        "after_submit": None,
        "shipping_address": None,
        "submit": None,
        "terms_of_service_acceptance": None,
    },
    "customer": None,
    "customer_creation": None,
    "customer_details": None,
    "customer_email": None,
    "expires_at": None,
    "invoice": None,
    "invoice_creation": None,
    "livemode": False,
    "locale": None,
    "metadata": None,
    "mode": None,
    "payment_intent": None,
    "payment_link": None,
    "payment_method_collection": None,
    "payment_method_options": {},
    "payment_method_types": ["card"],
    "payment_status": None,
    "phone_number_collection": {"enabled": False},
    "recovered_from": None,
    "setup_intent": None,
    "shipping_address_collection": None,
    "shipping_cost": None,
    "shipping_options": [],
    "status": "open",
    "submit_type": None,
    "subscription": None,
    "success_url": None,
    "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
    "ui_mode": "hosted",
    "url": None,
    PRIVATE: None,
}


def register(router: Router) -> None:
    router.object_types.add(OBJECT)
    router.add("POST", URL, create)
    router.add("GET", URL, list_sessions)
    router.add("GET", f"{URL}/{{id}}", retrieve)
    router.add("POST", f"{URL}/{{id}}", update)
    router.add("POST", f"{URL}/{{id}}/expire", expire)
    router.add("GET", f"{URL}/{{id}}/line_items", list_line_items)
    expand.includable(OBJECT, "line_items", _line_items_list)


def public(session: JsonObject) -> JsonObject:
    return {k: v for k, v in session.items() if k != PRIVATE}


# -- API ---------------------------------------------------------------------------------


def create(request: ApiRequest) -> JsonObject:
    made: list[JsonObject] = []
    try:
        return _create(request, made)
    except StripeError:
        # Prices (and products) that ``price_data`` made go again: a 400 changes nothing.
        for obj in made:
            request.store.delete(obj["object"], obj["id"])
        raise


def _create(request: ApiRequest, made: list[JsonObject]) -> JsonObject:
    params, store = request.params, request.store
    p.reject_unknown(params, _CREATABLE)
    if "mode" not in params:
        raise missing_param("mode")
    mode = p.choice(params, "mode", checkout_params.MODES)
    customer_id = checkout_params.customer(store, params)
    now = timeline.now_for(store, customer_id, request.now)
    collection = checkout_params.payment_method_collection(params, mode)
    items = checkout_params.line_items(request, mode, made)
    currency = checkout_params.currency(params, items, mode)
    trial = checkout_params.trial(params, mode, now)
    mode_data = checkout_params.mode_data(params, mode)
    checkout_params.check_billing_mode(params, mode)
    invoice_creation = checkout_params.invoice_creation(params, mode)
    expires_at = checkout_params.expires_at(params, now)
    due_now = checkout_params.amount_due(items, mode, trial)
    session = copy.deepcopy(_BLANK)
    session.update(id=store.new_id("cs_test", 58))
    session.update(_given(params, mode, customer_id))
    session.update(
        amount_subtotal=due_now,
        amount_total=due_now,
        created=now,
        currency=currency,
        customer=customer_id,
        expires_at=expires_at,
        invoice_creation=invoice_creation,
        mode=mode,
        payment_method_collection=collection,
        payment_status="no_payment_required" if mode == "setup" else "unpaid",
    )
    session[PRIVATE] = {"line_items": items, "trial": trial, **mode_data, "pending_card": None}
    session["url"] = f"{request.base_url}{PAGE}/{session['id']}"
    store.insert(session)
    if mode == "setup":
        # Stripe creates a setup session's SetupIntent at once; paying confirms it.
        setup_data = session[PRIVATE]["setup_intent_data"]
        intent = setup_intents.new_setup_intent(
            store,
            now,
            customer=customer_id,
            payment_method=None,
            metadata=setup_data.get("metadata"),
        )
        intent["description"] = setup_data.get("description")
        session["setup_intent"] = intent["id"]
    return _render(store, session, request.params)


def _given(params: Params, mode: str, customer_id: str | None) -> JsonObject:
    """The session's fields its parameters give as they are (read in the order of the
    session's fields, so the first bad one is the one named)."""
    return {
        "allow_promotion_codes": (
            p.boolean(params, "allow_promotion_codes")
            if "allow_promotion_codes" in params
            else None
        ),
        "cancel_url": checkout_params.optional_url(params, "cancel_url"),
        "client_reference_id": (
            p.nullable_string(params, "client_reference_id", max_length=200)
            if "client_reference_id" in params
            else None
        ),
        "customer_creation": checkout_params.customer_creation(params, mode, customer_id),
        "customer_email": (
            p.nullable_string(params, "customer_email", max_length=512)
            if "customer_email" in params
            else None
        ),
        "locale": p.nullable_string(params, "locale") if "locale" in params else None,
        "metadata": p.apply_metadata({}, params["metadata"]) if "metadata" in params else {},
        "success_url": checkout_params.optional_url(params, "success_url"),
    }


def retrieve(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, ())
    session = require(request.store, request.path_params["id"], request.now)
    return _render(request.store, session, request.params)


def update(request: ApiRequest) -> JsonObject:
    session = require(request.store, request.path_params["id"], request.now)
    p.reject_unknown(request.params, ("metadata",))
    if "metadata" in request.params:
        session["metadata"] = p.apply_metadata(session["metadata"], request.params["metadata"])
    return _render(request.store, session, request.params)


def expire(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, ())
    session = require(request.store, request.path_params["id"], request.now)
    if session["status"] != "open":
        raise StripeError(
            400,
            f'Only Checkout Sessions with a status in ["open"] can be expired. This '
            f'Checkout Session has a status of "{session["status"]}".',
        )
    _expire(request.store, session, request.now)
    return _render(request.store, session, request.params)


def list_sessions(request: ApiRequest) -> JsonObject:
    params, store = request.params, request.store
    filters = ("customer", "payment_intent", "status", "subscription", "payment_link")
    p.reject_unknown(params, {*pagination.LIST_PARAMS, *filters})
    in_range = pagination.created_filter(params)
    wanted = {name: p.string(params, name) for name in filters if name in params}
    if "status" in wanted:
        p.choice(params, "status", ("complete", "expired", "open"))
    for session in store.live(OBJECT):
        _expire_if_due(store, session, request.now)
    sessions = [
        public(s)
        for s in store.live(OBJECT)
        if in_range(s) and all(s.get(name) == value for name, value in wanted.items())
    ]
    return pagination.list_page(store, OBJECT, sessions, params, URL)


def list_line_items(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, pagination.LIST_PARAMS - {"created"})
    session = require(request.store, request.path_params["id"], request.now)
    items = line_item_objects(request.store, session)
    # Line items are not stored on their own: page through them by position.
    ids = [item["id"] for item in items]
    start = 0
    if "starting_after" in request.params:
        cursor = p.string(request.params, "starting_after")
        start = ids.index(cursor) + 1 if cursor in ids else len(ids)
    end = start + pagination.limit(request.params)
    return {
        "object": "list",
        "data": items[start:end],
        "has_more": end < len(items),
        "url": f"{URL}/{session['id']}/line_items",
    }


# -- expiry ------------------------------------------------------------------------------


def require(store: ObjectStore, session_id: str, now: int) -> JsonObject:
    session = store.require(OBJECT, session_id)
    _expire_if_due(store, session, now)
    return session


def _expire_if_due(store: ObjectStore, session: JsonObject, now: int) -> None:
    """Stripe expires an open session at ``expires_at``; here, when it is next looked at."""
    clock_now = timeline.now_for(store, session["customer"], now)
    if session["status"] == "open" and clock_now >= session["expires_at"]:
        _expire(store, session, clock_now)


def _expire_on_clock(store: ObjectStore, clock: JsonObject, now: int) -> None:
    customers = {c["id"] for c in store.live("customer") if c["test_clock"] == clock["id"]}
    for session in reversed(store.live(OBJECT)):
        if session["customer"] in customers:
            _expire_if_due(store, session, now)


hooks.listen(hooks.TEST_CLOCK_ADVANCED, _expire_on_clock)


def _expire(store: ObjectStore, session: JsonObject, now: int) -> None:
    session["status"] = "expired"
    session["url"] = None
    session[PRIVATE]["pending_card"] = None
    events.emit(store, "checkout.session.expired", public(session), now)


# -- rendering ---------------------------------------------------------------------------


def _render(store: ObjectStore, session: JsonObject, params: Params) -> JsonObject:
    # Rendered from the stored session: ``line_items`` is computed from its private part.
    return public(expand.render(store, session, expand.requested(params)))


def _line_items_list(store: ObjectStore, session: JsonObject) -> JsonObject:
    items = line_item_objects(store, session)
    return {
        "object": "list",
        "data": items,
        "has_more": False,
        "url": f"{URL}/{session['id']}/line_items",
    }


def line_item_objects(store: ObjectStore, session: JsonObject) -> list[JsonObject]:
    shown = []
    for item in session[PRIVATE]["line_items"]:
        price = store.find(prices.OBJECT, item["price"])
        assert price is not None, "line items were checked against stored prices"
        product = store.find(products.OBJECT, price["product"]) or {}
        amount = item["amount"]
        shown.append(
            {
                "id": item["id"],
                "object": "item",
                "amount_discount": 0,
                "amount_subtotal": amount,
                "amount_tax": 0,
                "amount_total": amount,
                "currency": price["currency"],
                "description": product.get("name"),
                "price": {k: v for k, v in price.items() if k != "tiers"},
                "quantity": item["quantity"],
            }
        )
    return shown
