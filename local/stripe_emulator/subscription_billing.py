"""What a subscription bills and when: its start (the first invoice, paid as
``payment_behavior`` says), an items change (its prorations, invoiced at once or left
pending, and a pending update applied once paid), the renewal at a period's end, a trial's
end and the cancellation; and what an invoice's payment (or failure) does to its
subscription.

`start`, `apply_items`, `renew` and `cancel` are what the subscription routes, test clocks
and subscription schedules call.
"""

from __future__ import annotations

from collections.abc import Mapping

from local.stripe_emulator import (
    events,
    hooks,
    invoice_lines,
    invoiceitems,
    invoices,
    pricing,
)
from local.stripe_emulator import payment_methods as methods
from local.stripe_emulator import subscription_objects as objects
from local.stripe_emulator.errors import StripeError
from local.stripe_emulator.prorations import (
    ItemSpec,
    current_period,
    new_period,
    product_name,
    prorations,
)
from local.stripe_emulator.store import JsonObject, ObjectStore
from local.stripe_emulator.timeline import period_end

PENDING_UPDATE_LIFETIME = 23 * 3600


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
    sub_id = store.new_id("sub", 24)
    anchor = trial_end or now
    recurring = specs[0].price["recurring"]
    end = trial_end or period_end(anchor, now, recurring["interval"], recurring["interval_count"])
    subscription = objects.new_subscription(
        sub_id,
        now,
        customer,
        specs[0].price["currency"],
        anchor=anchor,
        trial_end=trial_end,
        default_payment_method=default_payment_method,
        days_until_due=days_until_due,
    )
    subscription["metadata"] = dict(metadata or {})
    subscription["items"]["data"] = [
        objects.new_item(store, sub_id, spec, (now, end), now) for spec in specs
    ]
    invoice = _first_invoice(store, subscription, customer, now, base_url, behavior, one_time or [])
    if invoice["status"] == "paid" or days_until_due is not None:
        subscription["status"] = "trialing" if trial_end else "active"
    elif behavior == "error_if_incomplete":
        error = payment_error(store, invoice)
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
        objects.period_line(store, subscription, item, free=trial)
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
        invoice_lines.attach_item(invoice, one_time_item(store, subscription, customer, spec, now))
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


def one_time_item(
    store: ObjectStore,
    subscription: JsonObject,
    customer: JsonObject,
    spec: ItemSpec,
    now: int,
    period: tuple[int, int] | None = None,
) -> JsonObject:
    return invoiceitems.create_item(
        store,
        now,
        customer,
        amount=pricing.line_amount(spec.price, spec.quantity),
        currency=spec.price["currency"],
        description=product_name(store, spec.price),
        period=period or (now, now),
        quantity=spec.quantity,
        price=spec.price,
        subscription=(subscription["id"], None),
        metadata=dict(spec.metadata),
    )


def change_items(
    store: ObjectStore,
    subscription: JsonObject,
    customer: JsonObject,
    specs: list[ItemSpec],
    now: int,
    at: int,
    base_url: str,
    proration: str,
    behavior: str,
    one_time: list[ItemSpec] | None = None,
) -> None:
    """Another set of items (``specs``), prorated as asked; ``one_time``
    (``add_invoice_items``) goes on the invoice the change makes (with its prorations), or
    waits as pending items of the subscription for its next invoice when the change
    invoices nothing now. A pending update's invoice carries them too: they are paid
    whenever it is, and gone with it if it is voided."""
    trialing = subscription["status"] == "trialing"
    restart = new_period(subscription, specs, at)
    if trialing or (proration == "none" and restart is None):
        prorated = []
    else:
        prorated = prorate(store, subscription, specs, at, credits=proration != "none")
    prorated += _added(store, subscription, customer, one_time or [], now)
    # Stripe invoices an update at once only for always_invoice, or when it starts a new
    # billing period (prices of another interval): create_prorations leaves the
    # prorations pending for the next invoice, whatever the payment_behavior, and with
    # nothing to pay now pending_if_incomplete has nothing to wait for.
    invoice_now = not trialing and (proration == "always_invoice" or restart is not None)
    if behavior == "pending_if_incomplete" and invoice_now:
        # Pending before the invoice is paid: paying it (now or later) applies the update.
        subscription["pending_update"] = {
            "billing_cycle_anchor": None if restart is None else restart[0],
            "expires_at": now + PENDING_UPDATE_LIFETIME,
            "subscription_items": [
                objects.pending_item(store, subscription, spec, now) for spec in specs
            ],
            "trial_end": None,
            "trial_from_plan": None,
        }
        invoice = update_invoice(store, subscription, customer, now, base_url, "allow_incomplete")
        if invoice is None:
            apply_items(store, subscription, specs, now, restart)
        return
    if behavior == "error_if_incomplete" and invoice_now:
        invoice = update_invoice(store, subscription, customer, now, base_url, behavior)
        if invoice is not None and invoice["status"] != "paid":
            error = payment_error(store, invoice)
            invoices.void(store, invoice, now)
            for item in prorated:
                store.delete(invoices.ITEM_OBJECT, item["id"])
            raise error
        apply_items(store, subscription, specs, now, restart)
        return
    apply_items(store, subscription, specs, now, restart)
    if invoice_now:
        invoice = update_invoice(store, subscription, customer, now, base_url, behavior)
        if invoice is not None and invoice["status"] == "open":
            subscription["status"] = "past_due"


def start_paid_period(
    store: ObjectStore, subscription: JsonObject, specs: list[ItemSpec], anchor: int, now: int
) -> None:
    """The trial is over from ``anchor``: the items are ``specs``, in a period from then."""
    apply_items(store, subscription, specs, now)
    recurring = specs[0].price["recurring"]
    end = period_end(anchor, anchor, recurring["interval"], recurring["interval_count"])
    for item in subscription["items"]["data"]:
        item.update(current_period_start=anchor, current_period_end=end)
    subscription.update(trial_end=anchor, billing_cycle_anchor=anchor, status="active")


def add_one_time(
    store: ObjectStore,
    subscription: JsonObject,
    customer: JsonObject,
    one_time: list[ItemSpec],
    now: int,
    base_url: str,
    proration: str,
    behavior: str,
) -> None:
    """``add_invoice_items`` with no change of items: pending items of the subscription for
    its next invoice; ``always_invoice`` invoices them now (classic billing mode, this
    emulator's), and ``error_if_incomplete`` undoes them when that invoice is not paid."""
    added = _added(store, subscription, customer, one_time, now)
    if proration != "always_invoice" or subscription["status"] == "trialing":
        return
    charged = "allow_incomplete" if behavior == "pending_if_incomplete" else behavior
    invoice = update_invoice(store, subscription, customer, now, base_url, charged)
    if invoice is None or invoice["status"] == "paid":
        return
    if behavior == "error_if_incomplete":
        error = payment_error(store, invoice)
        invoices.void(store, invoice, now)
        for item in added:
            store.delete(invoices.ITEM_OBJECT, item["id"])
        raise error
    if behavior == "allow_incomplete" and invoice["status"] == "open":
        subscription["status"] = "past_due"


def _added(
    store: ObjectStore,
    subscription: JsonObject,
    customer: JsonObject,
    one_time: list[ItemSpec],
    now: int,
) -> list[JsonObject]:
    """The invoice items ``add_invoice_items`` makes: pending items of the subscription over
    its current period (Stripe's default period for them)."""
    period = current_period(subscription)
    return [one_time_item(store, subscription, customer, spec, now, period) for spec in one_time]


def update_invoice(
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


def prorate(
    store: ObjectStore,
    subscription: JsonObject,
    specs: list[ItemSpec],
    at: int,
    credits: bool = True,
) -> list[JsonObject]:
    """Invoice items crediting unused time on what changes (unless ``credits`` is off) and
    charging the rest of the period (or, for another interval, the new period)."""
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
            proration=each.proration,
            subscription=(subscription["id"], each.item_id),
        )
        for each in prorations(store, subscription, specs, at)
        if credits or each.amount > 0
    ]


def apply_items(
    store: ObjectStore,
    subscription: JsonObject,
    specs: list[ItemSpec],
    now: int,
    restart: tuple[int, int] | None = None,
) -> None:
    """Makes the subscription's items what ``specs`` say, keeping the current period, or
    starting ``restart`` (prices of another interval: the billing cycle anchor moves to it)."""
    period = restart or current_period(subscription)
    if restart is not None:
        subscription["billing_cycle_anchor"] = restart[0]
    existing = {item["id"]: item for item in subscription["items"]["data"]}
    items = []
    for spec in specs:
        item = existing.get(spec.item_id or "")
        if item is None:
            items.append(objects.new_item(store, subscription["id"], spec, period, now))
            continue
        item.update(
            price=objects.price_copy(spec.price),
            plan=objects.plan(spec.price),
            quantity=spec.quantity,
            metadata=dict(spec.metadata),
            current_period_start=period[0],
            current_period_end=period[1],
        )
        items.append(item)
    for item_id in existing.keys() - {item["id"] for item in items}:
        store.delete("subscription_item", item_id)
    subscription["items"]["data"] = items
    subscription["pending_update"] = None


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
    pending = subscription["pending_update"]
    if pending is not None and boundary >= pending["expires_at"]:
        _expire_pending_update(store, subscription, boundary)
    previous = objects.snapshot(subscription)
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
    lines = [
        objects.period_line(store, subscription, item) for item in subscription["items"]["data"]
    ]
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
    objects.emit_updated(store, subscription, previous, boundary)
    if draft_wait_s:
        invoice["automatically_finalizes_at"] = boundary + draft_wait_s
        return
    invoices.collect(store, invoice, boundary, base_url, subscription["default_payment_method"])


def _expire_pending_update(store: ObjectStore, subscription: JsonObject, now: int) -> None:
    """A pending update whose invoice was not paid by its ``expires_at`` is dropped (seen
    lazily here: at the next renewal, or when its invoice is paid too late); its invoice is
    left as it is."""
    previous = objects.snapshot(subscription)
    subscription["pending_update"] = None
    events.emit(store, "customer.subscription.pending_update_expired", subscription, now)
    objects.emit_updated(store, subscription, previous, now)


def _has_payment_method(subscription: JsonObject, customer: JsonObject) -> bool:
    settings = customer.get("invoice_settings") or {}
    return bool(subscription["default_payment_method"] or settings.get("default_payment_method"))


def cancel(store: ObjectStore, subscription: JsonObject, now: int, reason: str) -> None:
    subscription.update(status="canceled", ended_at=now, pending_update=None)
    subscription["canceled_at"] = subscription["canceled_at"] or now
    subscription["cancellation_details"]["reason"] = reason
    events.emit(store, "customer.subscription.deleted", subscription, now)


def end_trial_now(store: ObjectStore, subscription: JsonObject, now: int, base_url: str) -> None:
    for item in subscription["items"]["data"]:
        item["current_period_end"] = now
    subscription.update(trial_end=now, billing_cycle_anchor=now)
    renew(store, subscription, base_url)


def _restarted(pending: JsonObject, specs: list[ItemSpec]) -> tuple[int, int] | None:
    """The new billing period a pending update of another interval starts once paid."""
    anchor = pending["billing_cycle_anchor"]
    if anchor is None or not specs:
        return None
    recurring = specs[0].price["recurring"]
    return anchor, period_end(anchor, anchor, recurring["interval"], recurring["interval_count"])


def _on_invoice_paid(store: ObjectStore, invoice: JsonObject, now: int) -> None:
    subscription = _subscription_of(store, invoice)
    if subscription is None or subscription["latest_invoice"] != invoice["id"]:
        return
    pending = subscription["pending_update"]
    # Only the payment of the change's own invoice applies it (a renewal's does not: the
    # subscription cycles as if no update was asked), and only before it expires.
    if pending is not None and invoice["billing_reason"] == "subscription_update":
        if now >= pending["expires_at"]:
            _expire_pending_update(store, subscription, now)
            pending = None
    else:
        pending = None
    previous = objects.snapshot(subscription)
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
        if pending["trial_end"] is not None:
            start_paid_period(store, subscription, specs, pending["trial_end"], now)
        else:
            apply_items(store, subscription, specs, now, _restarted(pending, specs))
    if subscription["status"] in ("incomplete", "past_due"):
        trialing = subscription["trial_end"] is not None and subscription["trial_end"] > now
        subscription["status"] = "trialing" if trialing else "active"
    objects.emit_updated(store, subscription, previous, now)


def _on_invoice_payment_failed(store: ObjectStore, invoice: JsonObject, now: int) -> None:
    subscription = _subscription_of(store, invoice)
    if subscription is None or subscription["latest_invoice"] != invoice["id"]:
        return
    if invoice["billing_reason"] == "subscription_create" or subscription["pending_update"]:
        return
    if subscription["status"] in ("active", "trialing"):
        previous = objects.snapshot(subscription)
        subscription["status"] = "past_due"
        objects.emit_updated(store, subscription, previous, now)


def _subscription_of(store: ObjectStore, invoice: JsonObject) -> JsonObject | None:
    sub_id = invoices.subscription_of(invoice)
    return store.find(objects.OBJECT, sub_id) if sub_id else None


def _customer_default(store: ObjectStore, customer: JsonObject) -> str | None:
    default = methods.usable_default(store, customer)
    return None if default is None else str(default["id"])


def payment_error(store: ObjectStore, invoice: JsonObject) -> StripeError:
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


hooks.listen(hooks.INVOICE_PAID, _on_invoice_paid)
hooks.listen(hooks.INVOICE_PAYMENT_FAILED, _on_invoice_payment_failed)
