"""The customer portal: ``/v1/billing_portal/configurations``, ``/v1/billing_portal/sessions``
and the portal page a session's ``url`` opens.

The page lists the customer's subscriptions, invoices and cards, with forms to cancel a
subscription (at the period end, or at once, as the configuration says), to undo a pending
cancellation, and to replace the default card. Each action goes through the same code as
the API call it stands for, so the objects and events are the ones Stripe's portal makes.

Stripe refuses portal sessions until the account has saved its portal settings; the
emulator creates that default configuration (everything enabled) on first use instead.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from local.stripe_emulator import cards, customers, hosted, pagination, subscriptions
from local.stripe_emulator import params as p
from local.stripe_emulator import payment_methods as methods
from local.stripe_emulator.errors import StripeError, invalid_param, missing_param
from local.stripe_emulator.forms import Params
from local.stripe_emulator.routing import ApiRequest, PageRequest, PageResponse, Router
from local.stripe_emulator.store import JsonObject, ObjectStore

CONFIGURATION = "billing_portal.configuration"
SESSION = "billing_portal.session"
CONFIGURATIONS_URL = "/v1/billing_portal/configurations"
SESSIONS_URL = "/v1/billing_portal/sessions"
PAGE = "/p/session"

SUBSCRIPTION = subscriptions.OBJECT
INVOICE = "invoice"
# Subscriptions the portal shows (Stripe hides ended ones and incomplete first attempts).
_SHOWN_STATUSES = ("active", "past_due", "trialing", "unpaid", "paused")

_CONFIGURATION_FIELDS = frozenset(
    {"business_profile", "default_return_url", "features", "login_page", "metadata", "name"}
)
_FEATURES = (
    "customer_update",
    "invoice_history",
    "payment_method_update",
    "subscription_cancel",
    "subscription_update",
)
_CANCEL_MODES = ("at_period_end", "immediately")


def register(router: Router) -> None:
    router.object_types.update({CONFIGURATION, SESSION})
    router.add("POST", CONFIGURATIONS_URL, create_configuration)
    router.add("GET", CONFIGURATIONS_URL, list_configurations)
    router.add("GET", f"{CONFIGURATIONS_URL}/{{id}}", retrieve_configuration)
    router.add("POST", f"{CONFIGURATIONS_URL}/{{id}}", update_configuration)
    router.add("POST", SESSIONS_URL, create_session)
    router.add_page("GET", f"{PAGE}/{{id}}", show_page)
    router.add_page("POST", f"{PAGE}/{{id}}", submit_page)


# -- configurations ----------------------------------------------------------------------


def create_configuration(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, _CONFIGURATION_FIELDS | {"active"})
    configuration = _new_configuration(request.store, request.now, is_default=False)
    _apply_configuration(configuration, request.params)
    return request.store.insert(configuration)


def retrieve_configuration(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, ())
    return request.store.require(CONFIGURATION, request.path_params["id"])


def update_configuration(request: ApiRequest) -> JsonObject:
    configuration = request.store.require(CONFIGURATION, request.path_params["id"])
    p.reject_unknown(request.params, _CONFIGURATION_FIELDS | {"active"})
    updated = {**configuration, "features": _copy_features(configuration["features"])}
    _apply_configuration(updated, request.params)
    if "active" in request.params:
        active = p.boolean(request.params, "active")
        if not active and configuration["is_default"]:
            raise invalid_param("active", "You cannot deactivate the default configuration.")
        updated["active"] = active
    updated["updated"] = request.now
    configuration.update(updated)
    return configuration


def list_configurations(request: ApiRequest) -> JsonObject:
    params = request.params
    p.reject_unknown(params, {"limit", "starting_after", "ending_before", "active", "is_default"})
    wanted: dict[str, bool] = {
        name: p.boolean(params, name) for name in ("active", "is_default") if name in params
    }
    found = [
        c
        for c in request.store.live(CONFIGURATION)
        if all(c[name] == value for name, value in wanted.items())
    ]
    return pagination.list_page(request.store, CONFIGURATION, found, params, CONFIGURATIONS_URL)


def _new_configuration(store: ObjectStore, now: int, *, is_default: bool) -> JsonObject:
    return {
        "id": store.new_id("bpc", 24),
        "object": CONFIGURATION,
        "active": True,
        "application": None,
        "business_profile": {
            "headline": None,
            "privacy_policy_url": None,
            "terms_of_service_url": None,
        },
        "created": now,
        "default_return_url": None,
        "features": {
            "customer_update": {"allowed_updates": ["email", "address"], "enabled": True},
            "invoice_history": {"enabled": True},
            "payment_method_update": {"enabled": True},
            "subscription_cancel": {
                "cancellation_reason": {"enabled": False, "options": []},
                "enabled": True,
                "mode": "at_period_end",
                "proration_behavior": "none",
            },
            "subscription_update": {
                "default_allowed_updates": [],
                "enabled": False,
                "proration_behavior": "none",
                "products": [],
            },
        },
        "is_default": is_default,
        "livemode": False,
        "login_page": {"enabled": False, "url": None},
        "metadata": {},
        "name": None,
        "updated": now,
    }


def _copy_features(features: JsonObject) -> JsonObject:
    return {name: dict(value) for name, value in features.items()}


def _apply_configuration(configuration: JsonObject, params: Params) -> None:
    if "business_profile" in params:
        raw = p.hash_or_null(params, "business_profile") or {}
        fields = ("headline", "privacy_policy_url", "terms_of_service_url")
        p.reject_unknown(raw, fields, prefix="business_profile")
        with p.nested("business_profile"):
            for field in fields:
                if field in raw:
                    configuration["business_profile"][field] = p.nullable_string(raw, field)
    if "default_return_url" in params:
        configuration["default_return_url"] = p.nullable_string(params, "default_return_url")
    if "features" in params:
        _apply_features(configuration["features"], params)
    if "metadata" in params:
        configuration["metadata"] = p.apply_metadata(configuration["metadata"], params["metadata"])
    if "name" in params:
        configuration["name"] = p.nullable_string(params, "name")
    if "login_page" in params:
        raw = p.hash_or_null(params, "login_page") or {}
        p.reject_unknown(raw, ("enabled",), prefix="login_page")
        if "enabled" in raw:
            with p.nested("login_page"):
                configuration["login_page"]["enabled"] = p.boolean(raw, "enabled")


def _apply_features(features: JsonObject, params: Params) -> None:
    raw = p.hash_or_null(params, "features") or {}
    p.reject_unknown(raw, _FEATURES, prefix="features")
    for name, value in raw.items():
        prefix = f"features[{name}]"
        if not isinstance(value, dict):
            raise invalid_param(prefix, f"Invalid hash: {prefix}", "parameter_invalid_hash")
        feature = features[name]
        with p.nested(prefix):
            p.reject_unknown(value, (*feature, "enabled"), prefix=prefix)
            if "enabled" in value:
                feature["enabled"] = p.boolean(value, "enabled")
            if name == "subscription_cancel" and "mode" in value:
                feature["mode"] = p.choice(value, "mode", _CANCEL_MODES)
            if "proration_behavior" in value:
                feature["proration_behavior"] = p.choice(
                    value, "proration_behavior", ("always_invoice", "create_prorations", "none")
                )


def _default_configuration(store: ObjectStore, now: int) -> JsonObject:
    for configuration in store.live(CONFIGURATION):
        if configuration["is_default"]:
            return configuration
    return store.insert(_new_configuration(store, now, is_default=True))


# -- sessions ----------------------------------------------------------------------------


def create_session(request: ApiRequest) -> JsonObject:
    params, store = request.params, request.store
    p.reject_unknown(params, ("customer", "configuration", "return_url", "locale", "flow_data"))
    if "flow_data" in params:
        raise invalid_param("flow_data", "The emulator's portal does not implement flow_data.")
    if "customer" not in params:
        raise missing_param("customer")
    customer = methods.require_customer(store, p.non_empty_string(params, "customer"))
    if "configuration" in params:
        configuration_id = p.non_empty_string(params, "configuration")
        configuration = store.find(CONFIGURATION, configuration_id)
        if configuration is None:
            raise invalid_param(
                "configuration",
                f"No such configuration: '{configuration_id}'",
                "resource_missing",
            )
        if not configuration["active"]:
            raise invalid_param("configuration", "The configuration you provided is not active.")
    else:
        configuration = _default_configuration(store, request.now)
    return_url = _return_url(params, configuration)
    session: JsonObject = {
        "id": store.new_id("bps", 24),
        "object": SESSION,
        "configuration": configuration["id"],
        "created": request.now,
        "customer": customer["id"],
        "flow": None,
        "livemode": False,
        "locale": p.nullable_string(params, "locale") if "locale" in params else None,
        "on_behalf_of": None,
        "return_url": return_url,
        "url": None,
    }
    session["url"] = f"{request.base_url}{PAGE}/{session['id']}"
    return store.insert(session)


def _return_url(params: Params, configuration: JsonObject) -> str | None:
    if "return_url" in params:
        return p.nullable_string(params, "return_url")
    default: str | None = configuration["default_return_url"]
    return default


# -- the portal page ---------------------------------------------------------------------


def show_page(request: PageRequest) -> PageResponse:
    session = request.store.require(SESSION, request.path_params["id"])
    return _page(request.store, session)


def submit_page(request: PageRequest) -> PageResponse:
    store = request.store
    session = store.require(SESSION, request.path_params["id"])
    features = store.require(CONFIGURATION, session["configuration"])["features"]
    action = request.form.get("action", "")
    try:
        if action == "update_card" and features["payment_method_update"]["enabled"]:
            notice = _update_card(request, session, request.form.get("card_number", ""))
        elif action in ("cancel", "renew") and features["subscription_cancel"]["enabled"]:
            subscription = _customer_subscription(store, session, request.form)
            notice = _cancel_or_renew(request, subscription, action, features)
        else:
            return _page(
                store, session, error=f"This action is not available: {action}", status=400
            )
    except _Refused as refused:
        return _page(store, session, error=str(refused), status=refused.status)
    return _page(store, session, notice=notice)


class _Refused(Exception):
    def __init__(self, message: str, status: int = 402) -> None:
        super().__init__(message)
        self.status = status


def _update_card(request: PageRequest, session: JsonObject, number: str) -> str:
    """Saves the card and makes it the default for invoices and for the subscriptions that
    named a card of their own, as the portal does."""
    store, customer_id = request.store, session["customer"]
    card = cards.card_for_number(number.strip())
    if card is None:
        raise _Refused("Your card number is incorrect.")
    if card.declines_on_attach:
        raise _Refused(cards.decline_message(card))
    payment_method = methods.card_payment_method(store, request.now, card)
    methods.attach_to(store, payment_method, customer_id, request.now)
    _call(
        customers.update,
        request,
        {"invoice_settings": {"default_payment_method": payment_method["id"]}},
        customer_id,
    )
    for subscription in _subscriptions(store, customer_id):
        if subscription.get("default_payment_method"):
            _call(
                subscriptions.update,
                request,
                {"default_payment_method": payment_method["id"]},
                subscription["id"],
            )
    return f"Your card ending in {card.last4} is now your default payment method."


def _cancel_or_renew(
    request: PageRequest, subscription: JsonObject, action: str, features: JsonObject
) -> str:
    if action == "renew":
        if not subscription["cancel_at_period_end"]:
            raise _Refused("This subscription is not set to cancel.", 409)
        _call(subscriptions.update, request, {"cancel_at_period_end": "false"}, subscription["id"])
        return "Your subscription will renew."
    if subscription["cancel_at_period_end"]:
        raise _Refused("This subscription is already set to cancel.", 409)
    if features["subscription_cancel"]["mode"] == "immediately":
        _call(subscriptions.cancel_route, request, {}, subscription["id"])
        return "Your subscription is canceled."
    _call(subscriptions.update, request, {"cancel_at_period_end": "true"}, subscription["id"])
    return "Your subscription will be canceled at the end of the period."


def _customer_subscription(
    store: ObjectStore, session: JsonObject, form: dict[str, str]
) -> JsonObject:
    subscription_id = form.get("subscription", "")
    for subscription in _subscriptions(store, session["customer"]):
        if subscription["id"] == subscription_id:
            return subscription
    raise _Refused(f"No such subscription: {subscription_id}", 404)


def _subscriptions(store: ObjectStore, customer_id: str) -> list[JsonObject]:
    return [
        s
        for s in store.live(SUBSCRIPTION)
        if s["customer"] == customer_id and s["status"] in _SHOWN_STATUSES
    ]


def _call(
    handler: Callable[[ApiRequest], JsonObject],
    request: PageRequest,
    params: Params,
    object_id: str,
) -> JsonObject:
    """Runs an API handler for a page action, so its checks, changes and events apply."""
    api_request = ApiRequest(
        "POST", "", params, {"id": object_id}, request.store, request.now, request.base_url
    )
    try:
        result: JsonObject = handler(api_request)
    except StripeError as error:
        raise _Refused(error.message, error.status) from None
    return result


def _page(
    store: ObjectStore,
    session: JsonObject,
    *,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> PageResponse:
    customer = store.require(customers.OBJECT, session["customer"])
    features = store.require(CONFIGURATION, session["configuration"])["features"]
    action = f"{PAGE}/{session['id']}"
    parts = []
    if notice:
        parts.append(f"<p class='notice' role='status'>{escape(notice)}</p>")
    if error:
        parts.append(hosted.error(error))
    parts.append(f"<p>{escape(customer.get('email') or customer['id'])}</p>")
    parts.append(_subscriptions_section(store, customer["id"], action, features))
    if features["payment_method_update"]["enabled"]:
        parts.append(_cards_section(store, customer, action))
    if features["invoice_history"]["enabled"]:
        parts.append(_invoices_section(store, customer["id"]))
    if session["return_url"]:
        parts.append(f"<p><a href='{escape(session['return_url'])}'>Return</a></p>")
    return hosted.page("Billing", "".join(parts), status)


def _subscriptions_section(
    store: ObjectStore, customer_id: str, action: str, features: JsonObject
) -> str:
    rows = []
    for subscription in _subscriptions(store, customer_id):
        names = ", ".join(_item_name(store, item) for item in subscription["items"]["data"])
        state = escape(subscription["status"])
        period_end = max(
            (item["current_period_end"] for item in subscription["items"]["data"]), default=None
        )
        if subscription["cancel_at_period_end"] or subscription.get("cancel_at"):
            state += f", cancels on {hosted.date(subscription.get('cancel_at') or period_end)}"
        elif subscription["status"] in ("active", "trialing", "past_due"):
            state += f", renews on {hosted.date(period_end)}"
        form = ""
        if features["subscription_cancel"]["enabled"]:
            renewing = not subscription["cancel_at_period_end"]
            form = hosted.form(
                action,
                "",
                "Cancel subscription" if renewing else "Renew subscription",
                hidden={
                    "action": "cancel" if renewing else "renew",
                    "subscription": subscription["id"],
                },
            )
        rows.append(
            f"<li id='{escape(subscription['id'])}'>{escape(names)} "
            f"(<span class='status'>{state}</span>){form}</li>"
        )
    listed = "".join(rows) or "<li>No subscriptions.</li>"
    return f"<h2>Subscriptions</h2><ul>{listed}</ul>"


def _item_name(store: ObjectStore, item: JsonObject) -> str:
    price = item["price"]
    product = store.find("product", price["product"]) if isinstance(price, dict) else None
    name = (product or {}).get("name") or "Plan"
    amount = hosted.money(price.get("unit_amount"), price.get("currency"))
    return f"{name} {amount}".strip()


def _cards_section(store: ObjectStore, customer: JsonObject, action: str) -> str:
    default = customer["invoice_settings"]["default_payment_method"]
    rows = "".join(
        f"<li>{escape(pm['card']['brand'])} ending in {escape(pm['card']['last4'])}"
        f"{' (default)' if pm['id'] == default else ''}</li>"
        for pm in store.live(methods.OBJECT)
        if pm["customer"] == customer["id"]
    )
    form = hosted.form(action, hosted.card_input(), "Update card", hidden={"action": "update_card"})
    return f"<h2>Payment methods</h2><ul>{rows or '<li>No cards.</li>'}</ul>{form}"


def _invoices_section(store: ObjectStore, customer_id: str) -> str:
    rows = "".join(
        f"<li>{escape(invoice['number'] or invoice['id'])} {hosted.date(invoice['created'])} "
        f"{escape(hosted.money(invoice['total'], invoice['currency']))} "
        f"<span class='status'>{escape(invoice['status'])}</span> "
        f"<a href='{escape(invoice['hosted_invoice_url'] or '')}'>View</a></li>"
        for invoice in store.live(INVOICE)
        if invoice["customer"] == customer_id and invoice["status"] != "draft"
    )
    return f"<h2>Invoices</h2><ul>{rows or '<li>No invoices.</li>'}</ul>"
