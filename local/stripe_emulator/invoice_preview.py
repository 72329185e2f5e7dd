"""``POST /v1/invoices/create_preview``: the invoice a subscription change (or a new
subscription) would make, built and answered but never stored: no object, no event, nothing
charged."""

from __future__ import annotations

from dataclasses import dataclass

from local.stripe_emulator import billing_modes, expand, invoice_lines, invoices, prorations
from local.stripe_emulator import params as p
from local.stripe_emulator import payment_methods as methods
from local.stripe_emulator.errors import invalid_param, missing_param
from local.stripe_emulator.forms import Params
from local.stripe_emulator.prorations import ItemSpec, Proration
from local.stripe_emulator.routing import ApiRequest, Router
from local.stripe_emulator.store import JsonObject, ObjectStore, random_token
from local.stripe_emulator.timeline import now_for, period_end

_PREVIEW_PARAMS = frozenset({"customer", "subscription", "subscription_details"})
_PREVIEW_DETAILS = ("cancel_now", "items", "proration_behavior", "proration_date", "trial_end")
_PRORATIONS = ("always_invoice", "create_prorations", "none")
_NEW_SUBSCRIPTION_DETAILS = ("billing_mode", "items", "start_date")


def register(router: Router) -> None:
    router.add("POST", f"{invoices.URL}/create_preview", create_preview)


@dataclass(frozen=True)
class _Change:
    """The change to an existing subscription a preview asks about."""

    proration: str
    # The moment the prorations are computed for (``proration_date``).
    at: int
    cancel_now: bool
    # The items as changed; None: unchanged; empty: all gone (``cancel_now``).
    specs: list[ItemSpec] | None
    # ``trial_end=now`` on a trialing subscription: the first paid period starts now.
    ends_trial: bool = False


def create_preview(request: ApiRequest) -> JsonObject:
    """The subscription's next invoice as the change would leave it, or with
    ``always_invoice`` the invoice made at once (the prorations alone).

    The next invoice holds its items as changed for the next period, with the prorations
    (``create_prorations``, the default) and the pending items it would carry.
    """
    params, store = request.params, request.store
    p.reject_unknown(params, _PREVIEW_PARAMS)
    if "subscription" not in params:
        if "customer" not in params:
            raise missing_param("customer")
        if "subscription_details" in params:
            return _render(request, _preview_new_subscription(request))
    subscription = (
        store.require(
            invoices.SUBSCRIPTION_OBJECT, p.string(params, "subscription"), "subscription"
        )
        if "subscription" in params
        else None
    )
    customer = _customer(store, params, subscription)
    now = now_for(store, customer["id"], request.now)
    change = _change(store, params, subscription, now)
    lines: list[JsonObject] = []
    period: tuple[int, int] | None = None
    if subscription is not None and change.ends_trial:
        lines, period = _trial_end_lines(store, subscription, change, now), (now, now)
    elif subscription is not None:
        lines, period = _subscription_lines(store, subscription, change)
    if change.proration != "always_invoice" or change.cancel_now or change.ends_trial:
        lines += _pending_lines(store, customer, subscription)
    preview = invoices.draft(
        store,
        now,
        request.base_url,
        customer,
        currency=subscription["currency"] if subscription else "usd",
        billing_reason="upcoming"
        if change.proration != "always_invoice" and not change.ends_trial
        else "subscription_update",
        subscription=subscription,
        lines=lines,
        include_pending=False,
        period=period,
        stored=False,
    )
    return _render(request, _as_preview(preview, customer))


def _customer(store: ObjectStore, params: Params, subscription: JsonObject | None) -> JsonObject:
    """The customer asked about: the subscription's, which ``customer`` may only repeat."""
    customer_id = p.string(params, "customer") if "customer" in params else None
    if subscription is not None:
        if customer_id not in (None, subscription["customer"]):
            raise invalid_param("customer", "The subscription belongs to another customer.")
        customer_id = subscription["customer"]
    assert customer_id is not None
    return methods.require_customer(store, customer_id)


def _change(
    store: ObjectStore, params: Params, subscription: JsonObject | None, now: int
) -> _Change:
    """``subscription_details`` (read only with a subscription to change)."""
    details = (p.hash_or_null(params, "subscription_details") or {}) if subscription else {}
    if "billing_mode" in details:
        # A preview of a change bills in the subscription's own mode; a subscription changes
        # mode only through Stripe's migrate endpoint.
        raise invalid_param(
            "subscription_details[billing_mode]",
            "subscription_details[billing_mode] is for a new subscription; a preview of a "
            "change to a subscription uses the subscription's own billing mode.",
        )
    p.reject_unknown(details, _PREVIEW_DETAILS, prefix="subscription_details")
    with p.nested("subscription_details"):
        proration = (
            p.choice(details, "proration_behavior", _PRORATIONS)
            if "proration_behavior" in details
            else "create_prorations"
        )
        at = p.integer(details, "proration_date") if "proration_date" in details else now
        cancel_now = "cancel_now" in details and p.boolean(details, "cancel_now")
        if cancel_now and "items" in details:
            raise invalid_param(
                "subscription_details[items]", "You cannot pass items with cancel_now."
            )
        specs = (
            prorations.item_specs(store, details, current=subscription)
            if subscription is not None and "items" in details
            else None
        )
    ends_trial = False
    if "trial_end" in details:
        if details["trial_end"] != "now":
            # Only ending a trial at once is previewed here (a later end bills nothing now).
            raise invalid_param(
                "subscription_details[trial_end]", "This emulator previews only `now`."
            )
        assert subscription is not None
        if subscription["status"] != "trialing":
            raise invalid_param(
                "subscription_details[trial_end]",
                "Only a trialing subscription's trial_end can change.",
            )
        ends_trial = True
    if cancel_now:
        # The final invoice a cancel with invoice_now makes: the credits for the unused time
        # (unless proration is none) and the pending items, no next period.
        specs = []
    return _Change(proration, at, cancel_now, specs, ends_trial)


def _trial_end_lines(
    store: ObjectStore, subscription: JsonObject, change: _Change, now: int
) -> list[JsonObject]:
    """The invoice ending the trial now makes at once: the items (as changed) for their
    first paid period, from now; the free trial credits nothing."""
    kept = change.specs or [
        ItemSpec(item["id"], prorations.billed_price(store, item), int(item["quantity"]), {})
        for item in subscription["items"]["data"]
    ]
    recurring = kept[0].price["recurring"]
    end = period_end(now, now, recurring["interval"], int(recurring["interval_count"]))
    return [_next_period_line(store, subscription["id"], spec, (now, end)) for spec in kept]


def _subscription_lines(
    store: ObjectStore, subscription: JsonObject, change: _Change
) -> tuple[list[JsonObject], tuple[int, int]]:
    """The change's proration lines, then (for the next invoice) the next period's items;
    and the preview's period."""
    prorated = (
        []
        if change.proration == "none" or subscription["status"] == "trialing"
        else prorations.prorations(store, subscription, change.specs or [], change.at)
    )
    lines = [_proration_line(subscription["id"], each) for each in prorated]
    if change.cancel_now or change.proration == "always_invoice":
        return lines, (change.at, change.at)
    period = _next_period(subscription, prorations.current_period(subscription)[1])
    kept = change.specs or [
        ItemSpec(item["id"], prorations.billed_price(store, item), int(item["quantity"]), {})
        for item in subscription["items"]["data"]
    ]
    lines += [_next_period_line(store, subscription["id"], spec, period) for spec in kept]
    return lines, period


def _pending_lines(
    store: ObjectStore, customer: JsonObject, subscription: JsonObject | None
) -> list[JsonObject]:
    """The customer's pending invoice items the previewed invoice would carry."""
    sub_id = subscription["id"] if subscription else None
    currency = subscription["currency"] if subscription else None
    return [
        invoice_lines.item_line(item)
        for item in store.live(invoices.ITEM_OBJECT)[::-1]
        if invoice_lines.pending_for(item, customer["id"], currency or item["currency"], sub_id)
    ]


def _as_preview(preview: JsonObject, customer: JsonObject) -> JsonObject:
    # A preview is no invoice: it has no page and an id of its own kind.
    preview.update(id=f"upcoming_{preview['id']}", hosted_invoice_url=None, invoice_pdf=None)
    # Not finalized, so it starts from the customer's balance as it is now and has no ending
    # balance yet; what it would ask the card for is the total less a credit (plus a debt),
    # never below zero, as finalizing would leave it.
    balance = int(customer["balance"])
    due = max(int(preview["total"]) + balance, 0)
    preview.update(
        starting_balance=balance, ending_balance=None, amount_due=due, amount_remaining=due
    )
    return preview


def _preview_new_subscription(request: ApiRequest) -> JsonObject:
    """The first invoice of a subscription not created yet (``customer`` and
    ``subscription_details[items]``): each item for its first whole period from
    ``start_date`` (default: now, on the customer's clock). Nothing is stored."""
    params, store = request.params, request.store
    customer = methods.require_customer(store, p.string(params, "customer"))
    details = p.hash_or_null(params, "subscription_details") or {}
    with p.nested("subscription_details"):
        p.reject_unknown(details, _NEW_SUBSCRIPTION_DETAILS)
        if "items" not in details:
            raise missing_param("items")
    billing_modes.of_new(details, "subscription_details[billing_mode]")
    with p.nested("subscription_details"):
        specs = prorations.item_specs(store, details, current=None)
        start = (
            p.integer(details, "start_date", minimum=0)
            if "start_date" in details
            else now_for(store, customer["id"], request.now)
        )
    recurring = specs[0].price["recurring"]
    end = period_end(start, start, recurring["interval"], int(recurring["interval_count"]))
    lines = []
    for spec in specs:
        name = prorations.product_name(store, spec.price)
        description = f"{spec.quantity} {prorations.TIMES} {name}"
        line = invoice_lines.subscription_line(
            spec.price, spec.quantity, "", "", (start, end), description
        )
        # No subscription (nor item) exists yet to name.
        line["parent"]["subscription_item_details"]["subscription"] = None
        lines.append(line)
    preview = invoices.draft(
        store,
        start,
        request.base_url,
        customer,
        currency=specs[0].price["currency"],
        billing_reason="upcoming",
        lines=lines,
        include_pending=False,
        period=(start, start),
        stored=False,
    )
    return _as_preview(preview, customer)


def _proration_line(subscription_id: str, each: Proration) -> JsonObject:
    """As the invoice the change makes shows it: an invoice item's line, not created yet."""
    return invoice_lines.item_line(
        {
            # Stripe names the item the change will create in the preview's line too.
            "id": f"ii_{random_token()}",
            "amount": each.amount,
            "currency": each.price["currency"],
            "description": each.description,
            "discountable": False,
            "metadata": {},
            "parent": {"subscription_details": {"subscription": subscription_id}},
            "period": {"end": each.period[1], "start": each.period[0]},
            "pricing": invoice_lines.line_pricing(each.price),
            "proration": True,
            "quantity": each.quantity,
        }
    )


def _next_period(subscription: JsonObject, end: int) -> tuple[int, int]:
    """The billing period after the one ending at ``end``."""
    recurring = subscription["items"]["data"][0]["price"]["recurring"]
    anchor = int(subscription["billing_cycle_anchor"])
    return end, period_end(anchor, end, recurring["interval"], int(recurring["interval_count"]))


def _next_period_line(
    store: ObjectStore, subscription_id: str, spec: ItemSpec, period: tuple[int, int]
) -> JsonObject:
    product = store.find("product", str(spec.price["product"]))
    name = product["name"] if product else spec.price["product"]
    description = f"{spec.quantity} \N{MULTIPLICATION SIGN} {name}"
    return invoice_lines.subscription_line(
        spec.price, spec.quantity, subscription_id, spec.item_id or "", period, description
    )


def _render(request: ApiRequest, invoice: JsonObject) -> JsonObject:
    return expand.render(request.store, invoice, expand.requested(request.params))
