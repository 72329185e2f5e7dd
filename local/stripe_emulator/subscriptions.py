"""The Subscription resource: ``/v1/subscriptions``.

Items with prices and quantities, trials, ``payment_behavior`` on create and update,
prorations (invoice items for the unused and remaining time of the period, by the
second), pending updates, cancellation now or at the period end. Periods live on the
items (``current_period_start``/``end``), as in Stripe's current API.

`renew` and `apply_items` are what test clocks and subscription schedules call.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

from local.stripe_emulator import (
    events,
    expand,
    hooks,
    invoice_lines,
    invoiceitems,
    invoices,
    pagination,
    pricing,
)
from local.stripe_emulator import params as p
from local.stripe_emulator import payment_methods as methods
from local.stripe_emulator.errors import StripeError, invalid_param, missing_param
from local.stripe_emulator.forms import Params
from local.stripe_emulator.prorations import (
    TIMES,
    ItemSpec,
    billed_price,
    changes_items,
    current_period,
    item_specs,
    one_time_items,
    product_name,
    prorations,
)
from local.stripe_emulator.routing import ApiRequest, Router
from local.stripe_emulator.store import JsonObject, ObjectStore
from local.stripe_emulator.timeline import now_for, period_end

OBJECT = "subscription"
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
    "customer",
    "trial_period_days",
    "collection_method",
    "currency",
    "days_until_due",
    "trial_settings",
}
# What a trial's end does when neither the subscription nor its customer has a card.
_MISSING_PAYMENT_METHOD = ("cancel", "create_invoice")
_UPDATABLE = _SHARED | {"proration_date", "cancel_at", "cancellation_details"}
_MAX_TRIAL_SECONDS = 730 * 86400
_PENDING_UPDATE_LIFETIME = 23 * 3600
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
    subscription = start(
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
    subscription["trial_settings"] = _trial_settings(params)
    if cancel_at_end:
        end = current_period(subscription)[1]
        subscription.update(cancel_at_period_end=True, cancel_at=end, canceled_at=now)
    store.insert(subscription)
    events.emit(store, "customer.subscription.created", subscription, now)
    return _render(request, subscription)


def start(
    store: ObjectStore,
    now: int,
    base_url: str,
    customer: JsonObject,
    specs: list[ItemSpec],
    *,
    behavior: str = "allow_incomplete",
    trial_end: int | None = None,
    default_payment_method: str | None = None,
    metadata: Mapping[str, str] | None = None,
    one_time: list[ItemSpec] | None = None,
    days_until_due: int | None = None,
) -> JsonObject:
    """A new subscription with its first invoice attempted; not stored yet.

    With ``days_until_due`` (``collection_method=send_invoice``) nothing is charged: the
    subscription is active at once (Stripe's payment_behavior is for automatic collection
    only) and its invoices are sent to be paid within that many days; the first one stays a
    draft for an hour (``automatically_finalizes_at``) unless finalized before.

    ``one_time`` (``add_invoice_items``: price, quantity) is charged on that first invoice
    only, during a trial too.

    The caller stores it (and emits ``customer.subscription.created``) once it has set
    what else it wants, so the event shows the subscription as created. With
    ``error_if_incomplete`` a failed first payment voids the invoice and raises 402.
    """
    default_pm = default_payment_method
    sub_id = store.new_id("sub", 24)
    anchor = trial_end or now
    recurring = specs[0].price["recurring"]
    end = trial_end or period_end(anchor, now, recurring["interval"], recurring["interval_count"])
    subscription: JsonObject = {
        "id": sub_id,
        "object": OBJECT,
        "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_cycle_anchor": anchor,
        "billing_cycle_anchor_config": None,
        "billing_mode": {"flexible": None, "type": "classic", "updated_at": None},
        "billing_thresholds": None,
        "cancel_at": None,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": "charge_automatically" if days_until_due is None else "send_invoice",
        "created": now,
        "currency": specs[0].price["currency"],
        "customer": customer["id"],
        "customer_account": None,
        "days_until_due": days_until_due,
        "default_payment_method": default_pm,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "ended_at": None,
        "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
        "items": {
            "object": "list",
            "data": [],
            "has_more": False,
            "url": f"/v1/subscription_items?subscription={sub_id}",
        },
        "latest_invoice": None,
        "livemode": False,
        "metadata": {},
        "next_pending_invoice_item_invoice": None,
        "on_behalf_of": None,
        "pause_collection": None,
        "payment_settings": {
            "payment_method_options": None,
            "payment_method_types": None,
            "save_default_payment_method": "off",
        },
        "pending_invoice_item_interval": None,
        "pending_setup_intent": None,
        "pending_update": None,
        "schedule": None,
        "start_date": now,
        "status": "incomplete",
        "test_clock": customer["test_clock"],
        "transfer_data": None,
        "trial_end": trial_end,
        "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
        "trial_start": now if trial_end else None,
    }
    subscription["metadata"] = dict(metadata or {})
    subscription["items"]["data"] = [
        _new_item(store, sub_id, spec, (now, end), now) for spec in specs
    ]
    invoice = _first_invoice(store, subscription, customer, now, base_url, behavior, one_time or [])
    if invoice["status"] == "paid" or days_until_due is not None:
        subscription["status"] = "trialing" if trial_end else "active"
    elif behavior == "error_if_incomplete":
        error = _payment_error(store, invoice)
        invoices.void(store, invoice, now)
        raise error
    return subscription


def _first_invoice(
    store: ObjectStore,
    subscription: JsonObject,
    customer: JsonObject,
    now: int,
    base_url: str,
    behavior: str,
    one_time: list[ItemSpec],
) -> JsonObject:
    """The subscription's first invoice (zero during a trial, but for the ``one_time``
    prices, charged at once as invoice items), paid as ``behavior`` says."""
    trial = subscription["trial_end"] is not None
    lines = [
        _period_line(store, subscription, item, free=trial)
        for item in subscription["items"]["data"]
    ]
    item = subscription["items"]["data"][0]
    invoice = invoices.draft(
        store,
        now,
        base_url,
        customer,
        currency=subscription["currency"],
        billing_reason="subscription_create",
        subscription=subscription,
        lines=lines,
        include_pending=False,
        period=(item["current_period_start"], item["current_period_start"]),
    )
    for spec in one_time:
        invoice_lines.attach_item(invoice, _one_time_item(store, subscription, customer, spec, now))
    subscription["latest_invoice"] = invoice["id"]
    if invoice["collection_method"] == "send_invoice" and not trial:
        invoice["automatically_finalizes_at"] = now + invoices.SEND_INVOICE_DRAFT_S
        return invoice
    invoices.finalize(store, invoice, now)
    if invoice["status"] != "open":
        return invoice
    chosen = subscription["default_payment_method"]
    if behavior == "default_incomplete":
        intent = invoices.current_intent(store, invoice)
        chosen = chosen or _customer_default(store, customer)
        if intent is not None and chosen:
            intent.update(payment_method=chosen, status="requires_confirmation")
    else:
        invoices.pay(store, invoice, now, base_url, chosen)
    return invoice


def _one_time_item(
    store: ObjectStore, subscription: JsonObject, customer: JsonObject, spec: ItemSpec, now: int
) -> JsonObject:
    return invoiceitems.create_item(
        store,
        now,
        customer,
        amount=pricing.line_amount(spec.price, spec.quantity),
        currency=spec.price["currency"],
        description=product_name(store, spec.price),
        period=(now, now),
        quantity=spec.quantity,
        price=spec.price,
        subscription=(subscription["id"], None),
        metadata=dict(spec.metadata),
    )


# -- update ------------------------------------------------------------------------------


def update(request: ApiRequest) -> JsonObject:
    params, store = request.params, request.store
    subscription = store.require(OBJECT, request.path_params["id"], "subscription_exposed_id")
    p.reject_unknown(params, _UPDATABLE)
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
    now = now_for(store, subscription["customer"], request.now)
    customer = store.require("customer", subscription["customer"], "customer")
    proration = _choice(params, "proration_behavior", _PRORATION_BEHAVIORS, "create_prorations")
    behavior = _choice(params, "payment_behavior", _PAYMENT_BEHAVIORS, "allow_incomplete")
    at = p.integer(params, "proration_date") if "proration_date" in params else now
    specs = item_specs(store, params, current=subscription) if "items" in params else None
    previous = snapshot(subscription)
    simple: JsonObject = {}
    if "metadata" in params:
        simple["metadata"] = p.apply_metadata(subscription["metadata"], params["metadata"])
    if "description" in params:
        simple["description"] = p.nullable_string(params, "description")
    if "default_payment_method" in params:
        simple["default_payment_method"] = _default_payment_method(store, params, customer, now)
    if "cancellation_details" in params:
        raw = p.hash_or_null(params, "cancellation_details") or {}
        p.reject_unknown(raw, ("comment", "feedback"), prefix="cancellation_details")
        simple["cancellation_details"] = {
            "comment": p.nullable_string(raw, "comment") if "comment" in raw else None,
            "feedback": p.nullable_string(raw, "feedback") if "feedback" in raw else None,
            "reason": subscription["cancellation_details"]["reason"],
        }
    new_trial_end = _new_trial_end(params, subscription, now)
    end = current_period(subscription)[1]
    if "cancel_at_period_end" in params:
        if p.boolean(params, "cancel_at_period_end"):
            simple.update(cancel_at_period_end=True, cancel_at=end, canceled_at=now)
        else:
            simple.update(cancel_at_period_end=False, cancel_at=None, canceled_at=None)
            simple["cancellation_details"] = {"comment": None, "feedback": None, "reason": None}
    if "cancel_at" in params:
        simple["cancel_at"] = None if params["cancel_at"] == "" else p.integer(params, "cancel_at")
        simple["cancel_at_period_end"] = False
    subscription.update(simple)
    if new_trial_end == now:
        _end_trial_now(store, subscription, now, request.base_url)
    elif new_trial_end is not None:
        # A longer (or shorter) trial: the trial period is the current period.
        subscription.update(trial_end=new_trial_end, billing_cycle_anchor=new_trial_end)
        for item in subscription["items"]["data"]:
            item["current_period_end"] = new_trial_end
    if specs is not None and changes_items(subscription, specs):
        try:
            _change_items(
                store,
                subscription,
                customer,
                specs,
                now,
                at,
                request.base_url,
                proration,
                behavior,
            )
        except StripeError:
            # error_if_incomplete refused the change: the rest of the update is undone too.
            subscription.update({k: v for k, v in previous["state"].items() if k != "items"})
            raise
    emit_updated(store, subscription, previous, now)
    return _render(request, subscription)


def _change_items(
    store: ObjectStore,
    subscription: JsonObject,
    customer: JsonObject,
    specs: list[ItemSpec],
    now: int,
    at: int,
    base_url: str,
    proration: str,
    behavior: str,
) -> None:
    trialing = subscription["status"] == "trialing"
    prorated = [] if trialing or proration == "none" else _prorate(store, subscription, specs, at)
    # Stripe invoices an update at once only for always_invoice (or a first payment, or a
    # new billing period, neither of which an items change makes here): create_prorations
    # leaves the prorations pending for the next invoice, whatever the payment_behavior,
    # and with nothing to pay now pending_if_incomplete has nothing to wait for.
    invoice_now = not trialing and proration == "always_invoice"
    if behavior == "pending_if_incomplete" and invoice_now:
        # Pending before the invoice is paid: paying it (now or later) applies the update.
        subscription["pending_update"] = {
            "billing_cycle_anchor": None,
            "expires_at": now + _PENDING_UPDATE_LIFETIME,
            "subscription_items": [_pending_item(store, subscription, spec, now) for spec in specs],
            "trial_end": None,
            "trial_from_plan": None,
        }
        invoice = _update_invoice(store, subscription, customer, now, base_url, "allow_incomplete")
        if invoice is None:
            apply_items(store, subscription, specs, now)
        return
    if behavior == "error_if_incomplete" and invoice_now:
        invoice = _update_invoice(store, subscription, customer, now, base_url, behavior)
        if invoice is not None and invoice["status"] != "paid":
            error = _payment_error(store, invoice)
            invoices.void(store, invoice, now)
            for item in prorated:
                store.delete(invoices.ITEM_OBJECT, item["id"])
            raise error
        apply_items(store, subscription, specs, now)
        return
    apply_items(store, subscription, specs, now)
    if invoice_now:
        invoice = _update_invoice(store, subscription, customer, now, base_url, behavior)
        if invoice is not None and invoice["status"] == "open":
            subscription["status"] = "past_due"


def _update_invoice(
    store: ObjectStore,
    subscription: JsonObject,
    customer: JsonObject,
    now: int,
    base_url: str,
    behavior: str,
) -> JsonObject | None:
    """Invoices the subscription's pending prorations now; None when there are none.

    With ``error_if_incomplete`` the invoice becomes the latest only once paid, so a
    failed payment (which the caller then voids) leaves the subscription as it was.
    """
    pending = [
        item
        for item in store.live(invoices.ITEM_OBJECT)
        if item["invoice"] is None
        and item["parent"] is not None
        and item["parent"]["subscription_details"]["subscription"] == subscription["id"]
    ]
    if not pending:
        return None
    invoice = invoices.draft(
        store,
        now,
        base_url,
        customer,
        currency=subscription["currency"],
        billing_reason="subscription_update",
        subscription=subscription,
    )
    tentative = behavior == "error_if_incomplete"
    if not tentative:
        subscription["latest_invoice"] = invoice["id"]
    invoices.finalize(store, invoice, now)
    if invoice["status"] == "open" and behavior != "default_incomplete":
        invoices.pay(store, invoice, now, base_url, subscription["default_payment_method"])
    if tentative and invoice["status"] == "paid":
        subscription["latest_invoice"] = invoice["id"]
    return invoice


def _prorate(
    store: ObjectStore, subscription: JsonObject, specs: list[ItemSpec], at: int
) -> list[JsonObject]:
    """Invoice items crediting unused time on what changes and charging the rest of the period."""
    customer = store.require("customer", subscription["customer"], "customer")
    return [
        invoiceitems.create_item(
            store,
            at,
            customer,
            amount=each.amount,
            currency=each.price["currency"],
            description=each.description,
            period=each.period,
            quantity=each.quantity,
            price=each.price,
            proration=True,
            subscription=(subscription["id"], each.item_id),
        )
        for each in prorations(store, subscription, specs, at)
    ]


def apply_items(
    store: ObjectStore, subscription: JsonObject, specs: list[ItemSpec], now: int
) -> None:
    """Makes the subscription's items what ``specs`` say, keeping the current period."""
    period = current_period(subscription)
    existing = {item["id"]: item for item in subscription["items"]["data"]}
    items = []
    for spec in specs:
        item = existing.get(spec.item_id or "")
        if item is None:
            items.append(_new_item(store, subscription["id"], spec, period, now))
            continue
        item.update(
            price=_price_copy(spec.price),
            plan=_plan(spec.price),
            quantity=spec.quantity,
            metadata=dict(spec.metadata),
        )
        items.append(item)
    for item_id in existing.keys() - {item["id"] for item in items}:
        store.delete("subscription_item", item_id)
    subscription["items"]["data"] = items
    subscription["pending_update"] = None


# -- renewal, trials, cancellation -------------------------------------------------------


def renew(
    store: ObjectStore, subscription: JsonObject, base_url: str, *, draft_wait_s: int = 0
) -> None:
    """The period ends: cancel if asked to, else start the next period and charge for it.

    With ``draft_wait_s`` (a test clock's renewal, as Stripe's) the invoice stays a draft
    that long (``automatically_finalizes_at``), so that an ``invoice.created`` webhook can
    still add invoice items to it; the clock finalizes and charges it then."""
    boundary = current_period(subscription)[1]
    cancel_at = subscription["cancel_at"]
    if cancel_at is not None and cancel_at <= boundary:
        cancel(store, subscription, cancel_at, reason="cancellation_requested")
        return
    previous = snapshot(subscription)
    recurring = subscription["items"]["data"][0]["price"]["recurring"]
    end = period_end(
        subscription["billing_cycle_anchor"],
        boundary,
        recurring["interval"],
        recurring["interval_count"],
    )
    for item in subscription["items"]["data"]:
        item.update(current_period_start=boundary, current_period_end=end)
    customer = store.require("customer", subscription["customer"], "customer")
    if subscription["status"] == "trialing":
        ending = subscription["trial_settings"]["end_behavior"]["missing_payment_method"]
        if ending == "cancel" and not _has_payment_method(subscription, customer):
            cancel(store, subscription, boundary, reason="cancellation_requested")
            return
        subscription["status"] = "active"
    lines = [_period_line(store, subscription, item) for item in subscription["items"]["data"]]
    invoice = invoices.draft(
        store,
        boundary,
        base_url,
        customer,
        currency=subscription["currency"],
        billing_reason="subscription_cycle",
        subscription=subscription,
        lines=lines,
        period=(previous["period"][0], boundary),
    )
    subscription["latest_invoice"] = invoice["id"]
    emit_updated(store, subscription, previous, boundary)
    if draft_wait_s:
        invoice["automatically_finalizes_at"] = boundary + draft_wait_s
        return
    invoices.collect(store, invoice, boundary, base_url, subscription["default_payment_method"])


def _has_payment_method(subscription: JsonObject, customer: JsonObject) -> bool:
    settings = customer.get("invoice_settings") or {}
    return bool(subscription["default_payment_method"] or settings.get("default_payment_method"))


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


def cancel(store: ObjectStore, subscription: JsonObject, now: int, reason: str) -> None:
    subscription.update(status="canceled", ended_at=now, pending_update=None)
    subscription["canceled_at"] = subscription["canceled_at"] or now
    subscription["cancellation_details"]["reason"] = reason
    events.emit(store, "customer.subscription.deleted", subscription, now)


def _end_trial_now(store: ObjectStore, subscription: JsonObject, now: int, base_url: str) -> None:
    for item in subscription["items"]["data"]:
        item["current_period_end"] = now
    subscription.update(trial_end=now, billing_cycle_anchor=now)
    renew(store, subscription, base_url)


def _on_invoice_paid(store: ObjectStore, invoice: JsonObject, now: int) -> None:
    subscription = _subscription_of(store, invoice)
    if subscription is None or subscription["latest_invoice"] != invoice["id"]:
        return
    previous = snapshot(subscription)
    pending = subscription["pending_update"]
    if pending is not None:
        specs = [
            ItemSpec(
                item["id"] if store.find("subscription_item", item["id"]) else None,
                store.require("price", item["price"]["id"]),
                int(item["quantity"]),
                item["metadata"],
            )
            for item in pending["subscription_items"]
        ]
        apply_items(store, subscription, specs, now)
    if subscription["status"] in ("incomplete", "past_due"):
        trialing = subscription["trial_end"] is not None and subscription["trial_end"] > now
        subscription["status"] = "trialing" if trialing else "active"
    emit_updated(store, subscription, previous, now)


def _on_invoice_payment_failed(store: ObjectStore, invoice: JsonObject, now: int) -> None:
    subscription = _subscription_of(store, invoice)
    if subscription is None or subscription["latest_invoice"] != invoice["id"]:
        return
    if invoice["billing_reason"] == "subscription_create" or subscription["pending_update"]:
        return
    if subscription["status"] in ("active", "trialing"):
        previous = snapshot(subscription)
        subscription["status"] = "past_due"
        emit_updated(store, subscription, previous, now)


def _subscription_of(store: ObjectStore, invoice: JsonObject) -> JsonObject | None:
    sub_id = invoices.subscription_of(invoice)
    return store.find(OBJECT, sub_id) if sub_id else None


hooks.listen(hooks.INVOICE_PAID, _on_invoice_paid)
hooks.listen(hooks.INVOICE_PAYMENT_FAILED, _on_invoice_payment_failed)


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
        _prorate(store, subscription, [], now)
    cancel(store, subscription, now, reason="cancellation_requested")
    if invoice_now:
        # The final invoice: the subscription's pending items (those credits among them).
        # A negative total goes to the customer's credit balance, as Stripe does.
        customer = store.require("customer", subscription["customer"], "customer")
        _update_invoice(store, subscription, customer, now, request.base_url, "allow_incomplete")
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


def _new_item(
    store: ObjectStore, sub_id: str, spec: ItemSpec, period: tuple[int, int], now: int
) -> JsonObject:
    item: JsonObject = {
        "id": store.new_id("si", 14),
        "object": "subscription_item",
        "billing_thresholds": None,
        "created": now,
        "current_period_end": period[1],
        "current_period_start": period[0],
        "discounts": [],
        "metadata": dict(spec.metadata),
        "plan": _plan(spec.price),
        "price": _price_copy(spec.price),
        "quantity": spec.quantity,
        "subscription": sub_id,
        "tax_rates": [],
    }
    store.insert(item)
    return item


def _pending_item(
    store: ObjectStore, subscription: JsonObject, spec: ItemSpec, now: int
) -> JsonObject:
    start, end = current_period(subscription)
    return {
        "id": spec.item_id or store.new_id("si", 14),
        "object": "subscription_item",
        "billing_thresholds": None,
        "created": now,
        "current_period_end": end,
        "current_period_start": start,
        "discounts": [],
        "metadata": dict(spec.metadata),
        "plan": _plan(spec.price),
        "price": _price_copy(spec.price),
        "quantity": spec.quantity,
        "subscription": subscription["id"],
        "tax_rates": [],
    }


def _price_copy(price: JsonObject) -> JsonObject:
    return {name: value for name, value in price.items() if name != "tiers"}


def _plan(price: JsonObject) -> JsonObject:
    recurring = price["recurring"]
    return {
        "id": price["id"],
        "object": "plan",
        "active": price["active"],
        "amount": price["unit_amount"],
        "amount_decimal": price["unit_amount_decimal"],
        "billing_scheme": price["billing_scheme"],
        "created": price["created"],
        "currency": price["currency"],
        "interval": recurring["interval"],
        "interval_count": recurring["interval_count"],
        "livemode": False,
        "metadata": dict(price["metadata"]),
        "meter": recurring.get("meter"),
        "nickname": price["nickname"],
        "product": price["product"],
        "tiers_mode": price["tiers_mode"],
        "transform_usage": None,
        "trial_period_days": recurring.get("trial_period_days"),
        "usage_type": recurring.get("usage_type", "licensed"),
    }


def _period_line(
    store: ObjectStore, subscription: JsonObject, item: JsonObject, *, free: bool = False
) -> JsonObject:
    price = billed_price(store, item)
    quantity = int(item["quantity"])
    name = product_name(store, price)
    period = (int(item["current_period_start"]), int(item["current_period_end"]))
    if free:
        description = f"Trial period for {name}"
    elif price["billing_scheme"] == "tiered":
        description = f"{quantity} {TIMES} {name} (tiered, per {price['recurring']['interval']})"
    else:
        unit = pricing.unit_label(price)
        description = f"{quantity} {TIMES} {name} (at {unit} / {price['recurring']['interval']})"
    line = invoice_lines.subscription_line(
        price, quantity, subscription["id"], item["id"], period, description
    )
    if free:
        line.update(amount=0, subtotal=0)
    return line


def snapshot(subscription: JsonObject) -> JsonObject:
    return {
        "state": copy.deepcopy(
            {k: v for k, v in subscription.items() if k != "items"}
            | {"items": subscription["items"]}
        ),
        "period": current_period(subscription),
    }


def emit_updated(
    store: ObjectStore, subscription: JsonObject, previous: JsonObject, now: int
) -> None:
    before = previous["state"]
    changed = {k: v for k, v in before.items() if subscription.get(k) != v}
    if changed:
        events.emit(store, "customer.subscription.updated", subscription, now, changed)


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


def _customer_default(store: ObjectStore, customer: JsonObject) -> str | None:
    default = methods.usable_default(store, customer)
    return None if default is None else str(default["id"])


def _choice(params: Params, name: str, choices: tuple[str, ...], default: str) -> str:
    return p.choice(params, name, choices) if name in params else default


def _payment_error(store: ObjectStore, invoice: JsonObject) -> StripeError:
    intent = invoices.current_intent(store, invoice)
    if intent is not None and intent["status"] == "requires_action":
        return StripeError(
            402,
            "Payment for this subscription requires additional user action before it can be "
            "completed successfully.",
            error_type="card_error",
            code="subscription_payment_intent_requires_action",
        )
    error = intent["last_payment_error"] if intent else None
    if error is None:
        return StripeError(
            402,
            "This customer has no attached payment source or default payment method.",
            error_type="invalid_request_error",
            code="resource_missing",
        )
    return StripeError(
        402,
        error["message"],
        error_type="card_error",
        code=error["code"],
        extra={"decline_code": error.get("decline_code")},
    )


def _render(request: ApiRequest, subscription: JsonObject) -> JsonObject:
    return expand.render(request.store, subscription, expand.requested(request.params))
