"""The Subscription resource: ``/v1/subscriptions``.

Items with prices and quantities, trials, ``payment_behavior`` on create and update,
prorations (invoice items for the unused and remaining time of the period, by the
second), pending updates, cancellation now or at the period end. Periods live on the
items (``current_period_start``/``end``), as in Stripe's current API.

The routes read and check the parameters; what a subscription bills is in
`subscription_billing`, its objects in `subscription_objects`.
"""

from __future__ import annotations

from local.stripe_emulator import (
    billing_modes,
    events,
    expand,
    invoices,
    pagination,
    prices,
)
from local.stripe_emulator import params as p
from local.stripe_emulator import payment_methods as methods
from local.stripe_emulator import subscription_billing as billing
from local.stripe_emulator import subscription_objects as objects
from local.stripe_emulator import subscription_trials as trials
from local.stripe_emulator.errors import StripeError, invalid_param, missing_param
from local.stripe_emulator.forms import FormValue, Params
from local.stripe_emulator.prorations import (
    ItemSpec,
    changes_items,
    current_period,
    item_specs,
    one_time_items,
)
from local.stripe_emulator.routing import ApiRequest, Router
from local.stripe_emulator.store import JsonObject, ObjectStore
from local.stripe_emulator.timeline import now_for

OBJECT = objects.OBJECT
URL = "/v1/subscriptions"

_PAYMENT_BEHAVIORS = (
    "allow_incomplete",
    "default_incomplete",
    "error_if_incomplete",
    "pending_if_incomplete",
)
_PRORATION_BEHAVIORS = ("always_invoice", "create_prorations", "none")
_SHARED = frozenset(
    {
        "cancel_at_period_end",
        "default_payment_method",
        "description",
        "items",
        "metadata",
        "off_session",
        "payment_behavior",
        "proration_behavior",
        "trial_end",
    }
)
_CREATABLE = _SHARED | {
    "add_invoice_items",
    "billing_mode",
    "customer",
    "trial_period_days",
    "collection_method",
    "currency",
    "days_until_due",
    "trial_settings",
}
# What a trial's end does when neither the subscription nor its customer has a card.
_MISSING_PAYMENT_METHOD = ("cancel", "create_invoice")
_UPDATABLE = _SHARED | {"add_invoice_items", "proration_date", "cancel_at", "cancellation_details"}
# What ``add_invoice_items[][price_data]`` takes: a one-time price of an existing product.
_ADDED_PRICE_DATA = ("currency", "product", "tax_behavior", "unit_amount", "unit_amount_decimal")
# Stripe's limit on ``add_invoice_items`` in one request.
_MAX_ADDED_ITEMS = 20
_MAX_TRIAL_SECONDS = 730 * 86400
# Statuses a default list leaves out; ``status=all`` includes them.
_ENDED = ("canceled", "incomplete_expired")


def register(router: Router) -> None:
    router.object_types.add(OBJECT)
    router.add("POST", URL, create)
    router.add("GET", URL, list_subscriptions)
    router.add("GET", f"{URL}/{{id}}", retrieve)
    router.add("POST", f"{URL}/{{id}}", update)
    router.add("DELETE", f"{URL}/{{id}}", cancel_route)


# -- create ------------------------------------------------------------------------------


def create(request: ApiRequest) -> JsonObject:
    params, store = request.params, request.store
    p.reject_unknown(params, _CREATABLE)
    if "customer" not in params:
        raise missing_param("customer")
    customer = methods.require_customer(store, p.string(params, "customer"))
    now = now_for(store, customer["id"], request.now)
    if "items" not in params:
        raise missing_param("items")
    billing_mode = billing_modes.of_new(params)
    specs = item_specs(store, params, current=None)
    one_time = (
        one_time_items(store, params, specs[0].price["currency"])
        if "add_invoice_items" in params
        else []
    )
    behavior = _choice(params, "payment_behavior", _PAYMENT_BEHAVIORS, "allow_incomplete")
    if behavior == "pending_if_incomplete":
        raise invalid_param(
            "payment_behavior",
            "payment_behavior=pending_if_incomplete is only supported when updating.",
        )
    days_until_due = invoices.days_until_due(params)
    trial_end = _trial_end(params, now, specs)
    default_pm = _default_payment_method(store, params, customer, now)
    metadata = p.apply_metadata({}, params["metadata"]) if "metadata" in params else {}
    description = p.nullable_string(params, "description") if "description" in params else None
    cancel_at_end = "cancel_at_period_end" in params and p.boolean(params, "cancel_at_period_end")
    subscription = billing.start(
        store,
        now,
        request.base_url,
        customer,
        specs,
        behavior=behavior,
        trial_end=trial_end,
        default_payment_method=default_pm,
        metadata=metadata,
        one_time=one_time,
        days_until_due=days_until_due,
    )
    subscription["description"] = description
    subscription["billing_mode"] = billing_mode
    subscription["trial_settings"] = _trial_settings(params)
    if cancel_at_end:
        end = current_period(subscription)[1]
        subscription.update(cancel_at_period_end=True, cancel_at=end, canceled_at=now)
    store.insert(subscription)
    events.emit(store, "customer.subscription.created", subscription, now)
    return _render(request, subscription)


# -- update ------------------------------------------------------------------------------


def update(request: ApiRequest) -> JsonObject:
    params, store = request.params, request.store
    subscription = store.require(OBJECT, request.path_params["id"], "subscription_exposed_id")
    p.reject_unknown(params, _UPDATABLE)
    _check_updatable(params, subscription)
    now = now_for(store, subscription["customer"], request.now)
    customer = store.require("customer", subscription["customer"], "customer")
    proration = _choice(params, "proration_behavior", _PRORATION_BEHAVIORS, "create_prorations")
    behavior = _choice(params, "payment_behavior", _PAYMENT_BEHAVIORS, "allow_incomplete")
    at = p.integer(params, "proration_date") if "proration_date" in params else now
    specs = item_specs(store, params, current=subscription) if "items" in params else None
    one_time = _added_items(request, subscription) if "add_invoice_items" in params else []
    previous = objects.snapshot(subscription)
    simple = _field_changes(store, params, subscription, customer, now)
    new_trial_end = _new_trial_end(params, subscription, now)
    simple.update(_cancellation_changes(params, subscription, now))
    subscription.update(simple)
    ending_with_items = (
        new_trial_end == now and specs is not None and changes_items(subscription, specs)
    )
    if new_trial_end is not None and not ending_with_items:
        _move_trial_end(store, subscription, new_trial_end, now, request.base_url)
    try:
        if ending_with_items:
            assert specs is not None
            # One invoice for the new items' first paid period, paid as payment_behavior says.
            trials.end_trial_with_items(
                store, subscription, customer, specs, now, request.base_url, behavior, one_time
            )
        elif specs is not None and changes_items(subscription, specs):
            billing.change_items(
                store,
                subscription,
                customer,
                specs,
                now,
                at,
                request.base_url,
                proration,
                behavior,
                one_time,
            )
        elif one_time:
            billing.add_one_time(
                store, subscription, customer, one_time, now, request.base_url, proration, behavior
            )
    except StripeError:
        # error_if_incomplete refused the change: the rest of the update is undone too.
        subscription.update({k: v for k, v in previous["state"].items() if k != "items"})
        raise
    if new_trial_end is not None and new_trial_end > now:
        # A new billing period (the trial's, to its new end): a zero invoice for it.
        trials.trial_invoice(store, subscription, customer, now, request.base_url)
    objects.emit_updated(store, subscription, previous, now)
    return _render(request, subscription)


def _added_items(request: ApiRequest, subscription: JsonObject) -> list[ItemSpec]:
    """``add_invoice_items`` on update: one-time prices (by id, or made from ``price_data`` on
    an existing product) billed on the subscription's next invoice. Prices ``price_data``
    made go again when the request is refused (a 400 changes nothing)."""
    raw_items = request.params["add_invoice_items"]
    if not isinstance(raw_items, list) or not all(isinstance(i, dict) for i in raw_items):
        raise invalid_param(
            "add_invoice_items", "Invalid array: add_invoice_items", "parameter_invalid_array"
        )
    if len(raw_items) > _MAX_ADDED_ITEMS:
        raise invalid_param(
            "add_invoice_items", f"You may pass up to {_MAX_ADDED_ITEMS} add_invoice_items."
        )
    made: list[JsonObject] = []
    given: list[FormValue] = []
    try:
        for index, raw in enumerate(raw_items):
            assert isinstance(raw, dict)
            if "price_data" in raw:
                if "price" in raw:
                    raise invalid_param(
                        f"add_invoice_items[{index}][price]",
                        "You may only specify one of these parameters: price, price_data.",
                    )
                price = _one_time_price(request, raw, f"add_invoice_items[{index}][price_data]")
                made.append(price)
                raw = {**{k: v for k, v in raw.items() if k != "price_data"}, "price": price["id"]}
            given.append(raw)
        return one_time_items(request.store, {"add_invoice_items": given}, subscription["currency"])
    except StripeError:
        for price in made:
            request.store.delete(prices.OBJECT, price["id"])
        raise


def _one_time_price(request: ApiRequest, raw: Params, prefix: str) -> JsonObject:
    data = p.hash_or_null(raw, "price_data") or {}
    with p.nested(prefix):
        p.reject_unknown(data, _ADDED_PRICE_DATA)
        if "product" not in data:
            raise missing_param("product")
        if "unit_amount" not in data and "unit_amount_decimal" not in data:
            raise missing_param("unit_amount")
        shown = prices.create(
            ApiRequest("POST", prices.URL, dict(data), {}, request.store, request.now)
        )
    return request.store.require(prices.OBJECT, shown["id"])


def _check_updatable(params: Params, subscription: JsonObject) -> None:
    if subscription["status"] in _ENDED:
        raise StripeError(
            400,
            "A canceled subscription can only update its cancellation_details and metadata.",
        )
    if subscription["schedule"] is not None and (
        "cancel_at_period_end" in params or "cancel_at" in params
    ):
        # As Stripe: a schedule decides how its subscription ends.
        raise StripeError(
            400,
            f"The subscription is managed by the subscription schedule"
            f" `{subscription['schedule']}`: change its cancellation through the schedule.",
        )


def _field_changes(
    store: ObjectStore, params: Params, subscription: JsonObject, customer: JsonObject, now: int
) -> JsonObject:
    """The fields an update sets as given: metadata, description, default payment method,
    cancellation details."""
    changes: JsonObject = {}
    if "metadata" in params:
        changes["metadata"] = p.apply_metadata(subscription["metadata"], params["metadata"])
    if "description" in params:
        changes["description"] = p.nullable_string(params, "description")
    if "default_payment_method" in params:
        changes["default_payment_method"] = _default_payment_method(store, params, customer, now)
    if "cancellation_details" in params:
        raw = p.hash_or_null(params, "cancellation_details") or {}
        p.reject_unknown(raw, ("comment", "feedback"), prefix="cancellation_details")
        changes["cancellation_details"] = {
            "comment": p.nullable_string(raw, "comment") if "comment" in raw else None,
            "feedback": p.nullable_string(raw, "feedback") if "feedback" in raw else None,
            "reason": subscription["cancellation_details"]["reason"],
        }
    return changes


def _cancellation_changes(params: Params, subscription: JsonObject, now: int) -> JsonObject:
    """``cancel_at_period_end`` and ``cancel_at``: a cancellation asked for or taken back."""
    changes: JsonObject = {}
    end = current_period(subscription)[1]
    if "cancel_at_period_end" in params:
        if p.boolean(params, "cancel_at_period_end"):
            changes.update(cancel_at_period_end=True, cancel_at=end, canceled_at=now)
        else:
            changes.update(cancel_at_period_end=False, cancel_at=None, canceled_at=None)
            changes["cancellation_details"] = {"comment": None, "feedback": None, "reason": None}
    if "cancel_at" in params:
        changes["cancel_at"] = None if params["cancel_at"] == "" else p.integer(params, "cancel_at")
        changes["cancel_at_period_end"] = False
    return changes


def _move_trial_end(
    store: ObjectStore, subscription: JsonObject, trial_end: int, now: int, base_url: str
) -> None:
    """``trial_end`` on update: now ends the trial (and bills), a later moment moves its end."""
    if trial_end == now:
        billing.end_trial_now(store, subscription, now, base_url)
        return
    # A longer (or shorter) trial: a new trial period, from now to its new end.
    subscription.update(trial_end=trial_end, billing_cycle_anchor=trial_end)
    for item in subscription["items"]["data"]:
        item.update(current_period_start=now, current_period_end=trial_end)


def _trial_settings(params: Params) -> JsonObject:
    """``trial_settings[end_behavior][missing_payment_method]`` (Stripe's default:
    ``create_invoice``, whose payment then fails)."""
    ending = "create_invoice"
    if "trial_settings" in params:
        settings = p.hash_or_null(params, "trial_settings") or {}
        p.reject_unknown(settings, ("end_behavior",), prefix="trial_settings")
        behavior = (
            p.hash_or_null(settings, "end_behavior") if "end_behavior" in settings else None
        ) or {}
        with p.nested("trial_settings[end_behavior]"):
            p.reject_unknown(behavior, ("missing_payment_method",))
            if "missing_payment_method" in behavior:
                ending = p.choice(behavior, "missing_payment_method", _MISSING_PAYMENT_METHOD)
    return {"end_behavior": {"missing_payment_method": ending}}


# -- other routes ------------------------------------------------------------------------


def retrieve(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, ())
    subscription = request.store.require(
        OBJECT, request.path_params["id"], "subscription_exposed_id"
    )
    return _render(request, subscription)


def cancel_route(request: ApiRequest) -> JsonObject:
    params, store = request.params, request.store
    p.reject_unknown(params, ("invoice_now", "prorate", "cancellation_details"))
    subscription = store.require(OBJECT, request.path_params["id"], "subscription_exposed_id")
    if subscription["status"] in _ENDED:
        raise StripeError(
            404,
            f"No such subscription: '{subscription['id']}'",
            code="resource_missing",
            param="id",
        )
    prorate = "prorate" in params and p.boolean(params, "prorate")
    invoice_now = "invoice_now" in params and p.boolean(params, "invoice_now")
    now = now_for(store, subscription["customer"], request.now)
    live_period = subscription["status"] != "trialing"
    if prorate and live_period:
        # A credit for the period's unused time on every item, as a pending invoice item.
        billing.prorate(store, subscription, [], now)
    billing.cancel(store, subscription, now, reason="cancellation_requested")
    if invoice_now:
        # The final invoice: the subscription's pending items (those credits among them).
        # A negative total goes to the customer's credit balance, as Stripe does.
        customer = store.require("customer", subscription["customer"], "customer")
        billing.update_invoice(
            store, subscription, customer, now, request.base_url, "allow_incomplete"
        )
    return _render(request, subscription)


def list_subscriptions(request: ApiRequest) -> JsonObject:
    params = request.params
    p.reject_unknown(params, pagination.LIST_PARAMS | {"customer", "price", "status"})
    in_range = pagination.created_filter(params)
    customer = p.string(params, "customer") if "customer" in params else None
    price = p.string(params, "price") if "price" in params else None
    statuses = (
        "active",
        "all",
        "canceled",
        "ended",
        "incomplete",
        "incomplete_expired",
        "past_due",
        "paused",
        "trialing",
        "unpaid",
    )
    status = p.choice(params, "status", statuses) if "status" in params else None

    def status_matches(sub: JsonObject) -> bool:
        if status is None:
            return sub["status"] not in _ENDED
        if status == "all":
            return True
        if status == "ended":
            return sub["status"] in _ENDED
        return bool(sub["status"] == status)

    found = [
        sub
        for sub in request.store.live(OBJECT)
        if in_range(sub)
        and (customer is None or sub["customer"] == customer)
        and status_matches(sub)
        and (price is None or any(i["price"]["id"] == price for i in sub["items"]["data"]))
    ]
    page = pagination.list_page(request.store, OBJECT, found, params, URL)
    return expand.render(request.store, page, expand.requested(params))


# -- helpers -----------------------------------------------------------------------------


def _trial_end(params: Params, now: int, specs: list[ItemSpec]) -> int | None:
    if "trial_end" in params:
        if params["trial_end"] == "now":
            return None
        trial_end = p.integer(params, "trial_end")
        if not now < trial_end <= now + _MAX_TRIAL_SECONDS:
            raise invalid_param(
                "trial_end",
                "Invalid timestamp: must be in the future and no more than 730 days away.",
            )
        return trial_end
    if "trial_period_days" in params:
        days = p.integer(params, "trial_period_days", minimum=0, maximum=730)
        return now + days * 86400 if days else None
    return None


def _new_trial_end(params: Params, subscription: JsonObject, now: int) -> int | None:
    """``trial_end`` on update: ``now`` ends the trial, a timestamp moves its end."""
    if "trial_end" not in params:
        return None
    if subscription["status"] != "trialing":
        raise invalid_param("trial_end", "Only a trialing subscription's trial_end can change.")
    if params["trial_end"] == "now":
        return now
    trial_end = p.integer(params, "trial_end")
    if not now < trial_end <= now + _MAX_TRIAL_SECONDS:
        raise invalid_param(
            "trial_end", "Invalid timestamp: must be in the future and no more than 730 days away."
        )
    return trial_end


def _default_payment_method(
    store: ObjectStore, params: Params, customer: JsonObject, now: int
) -> str | None:
    if "default_payment_method" not in params or params["default_payment_method"] == "":
        return None
    payment_method = methods.resolve(
        store, now, p.string(params, "default_payment_method"), "default_payment_method"
    )
    if payment_method["customer"] != customer["id"]:
        raise methods.invalid_default(
            "default_payment_method", payment_method["id"], customer["id"]
        )
    return str(payment_method["id"])


def _choice(params: Params, name: str, choices: tuple[str, ...], default: str) -> str:
    return p.choice(params, name, choices) if name in params else default


def _render(request: ApiRequest, subscription: JsonObject) -> JsonObject:
    return expand.render(request.store, subscription, expand.requested(request.params))
