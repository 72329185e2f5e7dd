"""Checkout Sessions (``/v1/checkout/sessions``) and their hosted payment page.

A session is created ``open`` with a ``url`` on this emulator. ``GET`` of that page shows
the line items and a form with a ``card_number`` input; posting it does what that test card
does in Stripe's Checkout: it completes the session (creating the customer, the card, and
the payment intent, setup intent or subscription, with their events, then
``checkout.session.completed``), or shows the decline and leaves the session ``open`` with
nothing created, or asks for authentication first (a card that always requires it).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from html import escape
from urllib.parse import urlsplit

from local.stripe_emulator import (
    cards,
    checkout_completion,
    events,
    expand,
    hooks,
    hosted,
    pagination,
    payment_methods,
    prices,
    products,
    setup_intents,
    timeline,
)
from local.stripe_emulator import params as p
from local.stripe_emulator.errors import StripeError, invalid_param, missing_param
from local.stripe_emulator.forms import Params
from local.stripe_emulator.routing import ApiRequest, PageRequest, PageResponse, Router
from local.stripe_emulator.store import JsonObject, ObjectStore

OBJECT = "checkout.session"
URL = "/v1/checkout/sessions"
PAGE = "/c/pay"

MODES = ("payment", "setup", "subscription")
_MIN_LIFETIME = 30 * 60
_MAX_LIFETIME = 24 * 60 * 60
_MAX_TRIAL_DAYS = 730
_MIN_TRIAL_END_AHEAD = 2 * 24 * 60 * 60
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
_LINE_ITEM_FIELDS = ("price", "price_data", "quantity")
_PRICE_DATA_FIELDS = (
    "currency",
    "product",
    "product_data",
    "recurring",
    "tax_behavior",
    "unit_amount",
    "unit_amount_decimal",
)
_PRODUCT_DATA_FIELDS = ("description", "images", "metadata", "name", "tax_code", "unit_label")
_SUBSCRIPTION_DATA = ("description", "metadata", "trial_end", "trial_period_days")
_PAYMENT_INTENT_DATA = ("description", "metadata", "setup_future_usage")
_SETUP_INTENT_DATA = ("description", "metadata")
# What a session keeps for its completion but never shows (see ``public``).
_PRIVATE = "_private"


def register(router: Router) -> None:
    router.object_types.add(OBJECT)
    router.add("POST", URL, create)
    router.add("GET", URL, list_sessions)
    router.add("GET", f"{URL}/{{id}}", retrieve)
    router.add("POST", f"{URL}/{{id}}", update)
    router.add("POST", f"{URL}/{{id}}/expire", expire)
    router.add("GET", f"{URL}/{{id}}/line_items", list_line_items)
    router.add_page("GET", f"{PAGE}/{{id}}", show_page)
    router.add_page("POST", f"{PAGE}/{{id}}", submit_page)
    expand.includable(OBJECT, "line_items", _line_items_list)


def public(session: JsonObject) -> JsonObject:
    return {k: v for k, v in session.items() if k != _PRIVATE}


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
    mode = p.choice(params, "mode", MODES)
    customer_id = _customer(store, params)
    now = timeline.now_for(store, customer_id, request.now)
    collection = _payment_method_collection(params, mode)
    items = _line_items(request, mode, made)
    currency = _currency(params, items, mode)
    trial = _subscription_data(params, mode, now)
    _only_in_mode(params, "payment_intent_data", "payment", mode)
    _only_in_mode(params, "setup_intent_data", "setup", mode)
    intent_data = _hash(params, "payment_intent_data", _PAYMENT_INTENT_DATA)
    if "setup_future_usage" in intent_data:
        with p.nested("payment_intent_data"):
            p.choice(intent_data, "setup_future_usage", ("off_session", "on_session"))
    expires_at = _expires_at(params, now)
    due_now = _amount_due(items, mode, trial)
    session: JsonObject = {
        "id": store.new_id("cs_test", 58),
        "object": OBJECT,
        "after_expiration": None,
        "allow_promotion_codes": (
            p.boolean(params, "allow_promotion_codes")
            if "allow_promotion_codes" in params
            else None
        ),
        "amount_subtotal": due_now,
        "amount_total": due_now,
        "automatic_tax": {"enabled": False, "liability": None, "status": None},
        "billing_address_collection": None,
        "cancel_url": _optional_url(params, "cancel_url"),
        "client_reference_id": (
            p.nullable_string(params, "client_reference_id", max_length=200)
            if "client_reference_id" in params
            else None
        ),
        "client_secret": None,
        "consent": None,
        "consent_collection": None,
        "created": now,
        "currency": currency,
        "custom_fields": [],
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer": customer_id,
        "customer_creation": _customer_creation(params, mode, customer_id),
        "customer_details": None,
        "customer_email": (
            p.nullable_string(params, "customer_email", max_length=512)
            if "customer_email" in params
            else None
        ),
        "expires_at": expires_at,
        "invoice": None,
        "invoice_creation": None,
        "livemode": False,
        "locale": p.nullable_string(params, "locale") if "locale" in params else None,
        "metadata": p.apply_metadata({}, params["metadata"]) if "metadata" in params else {},
        "mode": mode,
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": collection,
        "payment_method_options": {},
        "payment_method_types": ["card"],
        "payment_status": "no_payment_required" if mode == "setup" else "unpaid",
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "setup_intent": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_options": [],
        "status": "open",
        "submit_type": None,
        "subscription": None,
        "success_url": _optional_url(params, "success_url"),
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted",
        "url": None,
        _PRIVATE: {
            "line_items": items,
            "trial": trial,
            "subscription_data": _hash(params, "subscription_data", _SUBSCRIPTION_DATA),
            "payment_intent_data": intent_data,
            "setup_intent_data": _hash(params, "setup_intent_data", _SETUP_INTENT_DATA),
            "pending_card": None,
        },
    }
    session["url"] = f"{request.base_url}{PAGE}/{session['id']}"
    store.insert(session)
    if mode == "setup":
        # Stripe creates a setup session's SetupIntent at once; paying confirms it.
        setup_data = session[_PRIVATE]["setup_intent_data"]
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


def retrieve(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, ())
    session = _require(request.store, request.path_params["id"], request.now)
    return _render(request.store, session, request.params)


def update(request: ApiRequest) -> JsonObject:
    session = _require(request.store, request.path_params["id"], request.now)
    p.reject_unknown(request.params, ("metadata",))
    if "metadata" in request.params:
        session["metadata"] = p.apply_metadata(session["metadata"], request.params["metadata"])
    return _render(request.store, session, request.params)


def expire(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, ())
    session = _require(request.store, request.path_params["id"], request.now)
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
    session = _require(request.store, request.path_params["id"], request.now)
    items = _line_item_objects(request.store, session)
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


# -- the hosted page ---------------------------------------------------------------------


def show_page(request: PageRequest) -> PageResponse:
    session = _require(request.store, request.path_params["id"], request.now)
    return _page_for(request.store, session)


def submit_page(request: PageRequest) -> PageResponse:
    store = request.store
    session = _require(store, request.path_params["id"], request.now)
    if session["status"] != "open":
        return _page_for(store, session, status=409)
    private = session[_PRIVATE]
    action = request.form.get("action", "pay")
    if action == "authenticate" and private["pending_card"]:
        card = cards.card_for_number(private["pending_card"])
        assert card is not None, "a pending card was a valid number"
        private["pending_card"] = None
        return _complete(request, session, card, authenticated=True)
    if action == "fail_authentication":
        private["pending_card"] = None
        return _page_for(
            store,
            session,
            error=(
                "We are unable to authenticate your payment method. Please choose a "
                "different payment method and try again."
            ),
            status=402,
        )
    needs_card = _needs_payment_method(session)
    number = request.form.get("card_number", "").strip()
    if not number and not needs_card:
        return _complete(request, session, None, authenticated=False)
    card = cards.card_for_number(number)
    if card is None:
        return _page_for(store, session, error="Your card number is incorrect.", status=402)
    if card.outcome is cards.Outcome.REQUIRES_ACTION:
        private["pending_card"] = card.number
        return _authentication_page(session)
    if _declines(session, card):
        return _page_for(store, session, error=cards.decline_message(card), status=402)
    return _complete(request, session, card, authenticated=False)


def _complete(
    request: PageRequest, session: JsonObject, card: cards.TestCard | None, *, authenticated: bool
) -> PageResponse:
    store, now = request.store, timeline.now_for(request.store, session["customer"], request.now)
    private = session[_PRIVATE]
    checkout_completion.complete(
        checkout_completion.Completion(
            store=store,
            now=now,
            base_url=request.base_url,
            session=session,
            card=card,
            authenticated=authenticated,
            line_items=private["line_items"],
            trial=private["trial"],
            subscription_data=private["subscription_data"],
            payment_intent_data=private["payment_intent_data"],
            setup_intent_data=private["setup_intent_data"],
        )
    )
    session["status"] = "complete"
    session["url"] = None
    if session["mode"] != "setup":
        session["payment_status"] = "paid" if session["amount_total"] else "no_payment_required"
    events.emit(store, "checkout.session.completed", public(session), now)
    success_url = session["success_url"]
    if success_url:
        return hosted.redirect(success_url.replace("{CHECKOUT_SESSION_ID}", session["id"]))
    return hosted.page("Thank you", "<p>Your payment is complete.</p>")


def _page_for(
    store: ObjectStore, session: JsonObject, *, error: str | None = None, status: int = 200
) -> PageResponse:
    if session["status"] == "complete":
        return hosted.page("Checkout complete", "<p>This checkout session is complete.</p>", status)
    if session["status"] == "expired":
        return hosted.page("Checkout expired", "<p>This checkout session has expired.</p>", 410)
    rows = "".join(
        f"<tr><td>{escape(str(item['description']))}</td><td>{item['quantity'] or ''}</td>"
        f"<td>{hosted.money(item['amount_total'], item['currency'])}</td></tr>"
        for item in _line_item_objects(store, session)
    )
    table = (
        "<table><thead><tr><th>Item</th><th>Qty</th><th>Amount</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        if rows
        else ""
    )
    trial = session[_PRIVATE]["trial"]
    notes = ""
    if trial is not None:
        notes += f"<p class='trial'>Free trial until {trial['trial_end']}.</p>"
    if session["mode"] != "setup":
        due = hosted.money(session["amount_total"], session["currency"])
        notes += f"<p class='total'>Total due today: {escape(due)}</p>"
    button = {"payment": "Pay", "setup": "Save card", "subscription": "Subscribe"}[session["mode"]]
    body = (
        (hosted.error(error) if error else "")
        + table
        + notes
        + hosted.form(f"{PAGE}/{session['id']}", hosted.card_input(), button)
    )
    if session["cancel_url"]:
        body += f"<p><a href='{escape(session['cancel_url'])}'>Cancel</a></p>"
    return hosted.page("Checkout", body, status)


def _authentication_page(session: JsonObject) -> PageResponse:
    action = f"{PAGE}/{session['id']}"
    body = (
        "<p>Your bank asks you to confirm this payment (3D Secure test page).</p>"
        + hosted.form(action, "", "Complete authentication", hidden={"action": "authenticate"})
        + hosted.form(action, "", "Fail authentication", hidden={"action": "fail_authentication"})
    )
    return hosted.page("Authenticate your payment", body)


def _needs_payment_method(session: JsonObject) -> bool:
    if session["mode"] != "subscription" or session["payment_method_collection"] == "always":
        return True
    return bool(session["amount_total"])


def _declines(session: JsonObject, card: cards.TestCard) -> bool:
    """Whether Checkout refuses this card: a charge now, or the check when it is saved."""
    if card.outcome is not cards.Outcome.DECLINES:
        return False
    charged_now = session["mode"] != "setup" and bool(session["amount_total"])
    return charged_now or card.declines_on_attach


# -- expiry ------------------------------------------------------------------------------


def _require(store: ObjectStore, session_id: str, now: int) -> JsonObject:
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
    session[_PRIVATE]["pending_card"] = None
    events.emit(store, "checkout.session.expired", public(session), now)


# -- rendering ---------------------------------------------------------------------------


def _render(store: ObjectStore, session: JsonObject, params: Params) -> JsonObject:
    # Rendered from the stored session: ``line_items`` is computed from its private part.
    return public(expand.render(store, session, expand.requested(params)))


def _line_items_list(store: ObjectStore, session: JsonObject) -> JsonObject:
    items = _line_item_objects(store, session)
    return {
        "object": "list",
        "data": items,
        "has_more": False,
        "url": f"{URL}/{session['id']}/line_items",
    }


def _line_item_objects(store: ObjectStore, session: JsonObject) -> list[JsonObject]:
    shown = []
    for item in session[_PRIVATE]["line_items"]:
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


# -- validation --------------------------------------------------------------------------


def _customer(store: ObjectStore, params: Params) -> str | None:
    if "customer" not in params:
        return None
    if "customer_email" in params:
        raise invalid_param(
            "customer_email",
            "You may only specify one of these parameters: customer, customer_email.",
        )
    customer_id = p.non_empty_string(params, "customer")
    return str(payment_methods.require_customer(store, customer_id)["id"])


def _customer_creation(params: Params, mode: str, customer_id: str | None) -> str | None:
    if "customer_creation" not in params:
        return "if_required" if mode == "payment" and customer_id is None else None
    if mode != "payment":
        raise invalid_param(
            "customer_creation",
            "`customer_creation` can only be used in `payment` mode.",
        )
    if customer_id is not None:
        raise invalid_param(
            "customer_creation",
            "You may only specify one of these parameters: customer, customer_creation.",
        )
    return p.choice(params, "customer_creation", ("always", "if_required"))


def _line_items(request: ApiRequest, mode: str, made: list[JsonObject]) -> list[JsonObject]:
    params = request.params
    if mode == "setup":
        if "line_items" in params:
            raise invalid_param("line_items", "You cannot pass `line_items` in `setup` mode.")
        return []
    if "line_items" not in params:
        raise missing_param("line_items")
    raw = params["line_items"]
    if not isinstance(raw, list) or not raw or not all(isinstance(i, dict) for i in raw):
        raise invalid_param("line_items", "Invalid array: line_items must be a list of hashes.")
    items = []
    for index, item in enumerate(raw):
        assert isinstance(item, dict)
        items.append(_line_item(request, item, index, mode, made))
    if len({item["currency"] for item in items}) > 1:
        raise invalid_param(
            "line_items", "All line items must have the same currency in a Checkout Session."
        )
    recurring = [item["recurring"] for item in items if item["recurring"]]
    if mode == "payment" and recurring:
        raise invalid_param(
            "line_items",
            "You specified `payment` mode but passed a recurring price. Either switch to "
            "`subscription` mode or use only one-time prices.",
        )
    if mode == "subscription":
        if not recurring:
            raise invalid_param(
                "line_items",
                "You must provide at least one recurring price in `subscription` mode when "
                "using prices.",
            )
        if len(recurring) < len(items):
            # Stripe puts one-time prices on the first invoice (add_invoice_items); the
            # emulator's subscriptions do not take those yet, so say so rather than drop them.
            raise invalid_param(
                "line_items",
                "The emulator does not support one-time prices in `subscription` mode.",
            )
        if len({(r["interval"], r["interval_count"]) for r in recurring}) > 1:
            raise invalid_param(
                "line_items",
                "Checkout does not support multiple prices with different billing intervals.",
            )
    return items


def _line_item(
    request: ApiRequest, item: Params, index: int, mode: str, made: list[JsonObject]
) -> JsonObject:
    store = request.store
    prefix = f"line_items[{index}]"
    p.reject_unknown(item, _LINE_ITEM_FIELDS, prefix=prefix)
    if "price" in item and "price_data" in item:
        raise invalid_param(
            f"{prefix}[price]", "You may only specify one of these parameters: price, price_data."
        )
    if "price" not in item and "price_data" not in item:
        raise missing_param(f"{prefix}[price]")
    with p.nested(prefix):
        if "price_data" in item:
            price = _adhoc_price(request, item, made)
        else:
            price_id = p.non_empty_string(item, "price")
            found = store.find(prices.OBJECT, price_id)
            if found is None:
                raise invalid_param("price", f"No such price: '{price_id}'", "resource_missing")
            price = found
        price_id = price["id"]
        if not price["active"]:
            raise invalid_param(
                "price",
                "The price specified is inactive. This field only accepts active prices.",
            )
        metered = (price.get("recurring") or {}).get("usage_type") == "metered"
        quantity: int | None = None
        if metered:
            if "quantity" in item:
                raise invalid_param(
                    "quantity",
                    f"Quantity should not be specified where usage_type is `metered`. Remove "
                    f"quantity from `{prefix}`.",
                )
        elif "quantity" not in item:
            raise missing_param("quantity")
        else:
            quantity = p.integer(item, "quantity", minimum=1)
    return {
        "id": store.new_id("li", 24),
        "price": price_id,
        "quantity": quantity,
        "amount": line_amount(price, quantity),
        "currency": price["currency"],
        "recurring": price["recurring"],
    }


def _adhoc_price(request: ApiRequest, item: Params, made: list[JsonObject]) -> JsonObject:
    """The Price (and Product) a line item's ``price_data`` describes, stored at once.

    Stripe archives such prices; here they stay active, because the subscription that
    Checkout creates from them refuses inactive prices.
    """
    raw = p.hash_or_null(item, "price_data") or {}
    p.reject_unknown(raw, _PRICE_DATA_FIELDS, prefix="price_data")
    product_raw = p.hash_or_null(raw, "product_data") if "product_data" in raw else None
    price_params: Params = {k: v for k, v in raw.items() if k != "product_data"}
    extra: JsonObject = {}
    if product_raw is not None:
        with p.nested("price_data[product_data]"):
            p.reject_unknown(product_raw, _PRODUCT_DATA_FIELDS, prefix="")
            if "description" in product_raw:
                extra["description"] = p.nullable_string(product_raw, "description")
            if "images" in product_raw:
                extra["images"] = p.string_list(product_raw, "images")
        price_params["product_data"] = {
            k: v for k, v in product_raw.items() if k not in ("description", "images")
        }
    with p.nested("price_data"):
        shown = prices.create(
            ApiRequest("POST", prices.URL, price_params, {}, request.store, request.now)
        )
    price = request.store.require(prices.OBJECT, shown["id"])
    made.append(price)
    product = request.store.require(products.OBJECT, price["product"])
    if product_raw is not None:
        product.update(extra)
        made.append(product)
    return price


def _currency(params: Params, items: list[JsonObject], mode: str) -> str | None:
    given = p.string(params, "currency").lower() if "currency" in params else None
    if mode == "setup":
        if given is None and "payment_method_types" not in params:
            raise invalid_param(
                "currency",
                "`currency` is required in `setup` mode when `payment_method_types` is not passed.",
                "parameter_missing",
            )
        return given
    currency = str(items[0]["currency"])
    if given is not None and given != currency:
        raise invalid_param(
            "currency", f"The currency {given} does not match the line items' ({currency})."
        )
    return currency


def _subscription_data(params: Params, mode: str, now: int) -> JsonObject | None:
    """The trial, as ``{"trial_end": ts}``, or None."""
    _only_in_mode(params, "subscription_data", "subscription", mode)
    raw = _hash(params, "subscription_data", _SUBSCRIPTION_DATA)
    if not raw:
        return None
    with p.nested("subscription_data"):
        if "trial_end" in raw and "trial_period_days" in raw:
            raise invalid_param(
                "trial_end",
                "You may only specify one of these parameters: trial_end, trial_period_days.",
            )
        if "trial_period_days" in raw:
            days = p.integer(raw, "trial_period_days", minimum=1, maximum=_MAX_TRIAL_DAYS)
            return {"trial_end": now + days * 86400, "trial_period_days": days}
        if "trial_end" in raw:
            end = p.integer(raw, "trial_end")
            if end < now + _MIN_TRIAL_END_AHEAD:
                raise invalid_param(
                    "trial_end",
                    "`subscription_data[trial_end]` must be at least 48 hours in the future.",
                )
            return {"trial_end": end, "trial_period_days": None}
    return None


def _payment_method_collection(params: Params, mode: str) -> str:
    if "payment_method_collection" not in params:
        return "always"
    if mode != "subscription":
        raise invalid_param(
            "payment_method_collection",
            "`payment_method_collection` can only be used in `subscription` mode.",
        )
    return p.choice(params, "payment_method_collection", ("always", "if_required"))


def _only_in_mode(params: Params, name: str, allowed_mode: str, mode: str) -> None:
    if name in params and mode != allowed_mode:
        raise invalid_param(name, f"You can not pass `{name}` in `{mode}` mode.")


def _hash(params: Params, name: str, fields: tuple[str, ...]) -> JsonObject:
    if name not in params:
        return {}
    raw = p.hash_or_null(params, name) or {}
    p.reject_unknown(raw, fields, prefix=name)
    shown: JsonObject = dict(raw)
    if "metadata" in raw:
        with p.nested(name):
            shown["metadata"] = p.apply_metadata({}, raw["metadata"])
    return shown


def _expires_at(params: Params, now: int) -> int:
    if "expires_at" not in params:
        return now + _MAX_LIFETIME
    expires_at = p.integer(params, "expires_at")
    if expires_at - now > _MAX_LIFETIME:
        raise invalid_param(
            "expires_at",
            "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.",
        )
    if expires_at - now < _MIN_LIFETIME:
        raise invalid_param(
            "expires_at",
            "The `expires_at` timestamp must be at least 30 minutes from Checkout Session "
            "creation.",
        )
    return expires_at


def _optional_url(params: Params, name: str) -> str | None:
    if name not in params:
        return None
    url = p.nullable_string(params, name, max_length=5000)
    if url is None:
        return None
    parts = urlsplit(url.replace("{CHECKOUT_SESSION_ID}", "x"))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise invalid_param(name, "Not a valid URL", "url_invalid")
    return url


# -- amounts -----------------------------------------------------------------------------


def line_amount(price: JsonObject, quantity: int | None) -> int:
    """What ``quantity`` of ``price`` costs, in the currency's minor unit (0 for metered)."""
    if quantity is None:
        return 0
    units = Decimal(quantity)
    transform = price.get("transform_quantity")
    if transform:
        rounding = "ROUND_UP" if transform["round"] == "up" else "ROUND_DOWN"
        units = (units / Decimal(transform["divide_by"])).quantize(Decimal(1), rounding=rounding)
    if price["billing_scheme"] == "tiered":
        return _tiered_amount(price, units)
    total = Decimal(price["unit_amount_decimal"]) * units
    return int(total.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def _tiered_amount(price: JsonObject, units: Decimal) -> int:
    tiers: list[JsonObject] = price["tiers"]
    total = Decimal(0)
    lower = Decimal(0)
    for tier in tiers:
        upper = Decimal(tier["up_to"]) if tier["up_to"] is not None else None
        unit = Decimal(tier.get("unit_amount_decimal") or 0)
        flat = Decimal(tier.get("flat_amount_decimal") or 0)
        if price["tiers_mode"] == "volume":
            if upper is None or units <= upper:
                total = unit * units + flat
                break
            continue
        if units <= lower:
            break
        in_tier = units - lower if upper is None else min(units, upper) - lower
        total += unit * in_tier + flat
        if upper is None:
            break
        lower = upper
    return int(total.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def _amount_due(items: list[JsonObject], mode: str, trial: JsonObject | None) -> int | None:
    if mode == "setup":
        return None
    # During a trial only the one-time items are charged at once.
    return sum(int(item["amount"]) for item in items if not (trial and item["recurring"]))
