"""A trial changed by a subscription update: ended now together with new items (one
invoice for their first paid period, applied once paid under ``pending_if_incomplete``), or
moved to a later end (a new trial period, invoiced for nothing)."""

from __future__ import annotations

from local.stripe_emulator import invoice_lines, invoices
from local.stripe_emulator import subscription_objects as objects
from local.stripe_emulator.prorations import ItemSpec
from local.stripe_emulator.store import JsonObject, ObjectStore
from local.stripe_emulator.subscription_billing import (
    PENDING_UPDATE_LIFETIME,
    one_time_item,
    payment_error,
    start_paid_period,
)
from local.stripe_emulator.timeline import period_end


def end_trial_with_items(
    store: ObjectStore,
    subscription: JsonObject,
    customer: JsonObject,
    specs: list[ItemSpec],
    now: int,
    base_url: str,
    behavior: str,
    one_time: list[ItemSpec],
) -> None:
    """``trial_end=now`` sent with new items: the first paid period starts now with those
    items, billed by one invoice made at once (``subscription_update``), with the
    ``one_time`` charges on it. The trial's free time credits nothing. Under
    ``pending_if_incomplete`` nothing changes until that invoice is paid: the items and the
    trial's end wait in ``pending_update`` and the subscription goes on trialing."""
    recurring = specs[0].price["recurring"]
    end = period_end(now, now, recurring["interval"], recurring["interval_count"])
    coming = [
        objects.pending_item(store, subscription, spec, now)
        | {"current_period_start": now, "current_period_end": end}
        for spec in specs
    ]
    invoice = invoices.draft(
        store,
        now,
        base_url,
        customer,
        currency=subscription["currency"],
        billing_reason="subscription_update",
        subscription=subscription,
        lines=[objects.period_line(store, subscription, item) for item in coming],
        period=(now, now),
    )
    for spec in one_time:
        invoice_lines.attach_item(invoice, one_time_item(store, subscription, customer, spec, now))
    before = subscription["latest_invoice"]
    waits = behavior in ("pending_if_incomplete", "error_if_incomplete")
    if waits:
        subscription["pending_update"] = {
            "billing_cycle_anchor": now,
            "expires_at": now + PENDING_UPDATE_LIFETIME,
            "subscription_items": coming,
            "trial_end": now,
            "trial_from_plan": None,
        }
    else:
        start_paid_period(store, subscription, specs, now, now)
    subscription["latest_invoice"] = invoice["id"]
    invoices.finalize(store, invoice, now)
    if invoice["status"] == "open" and behavior != "default_incomplete":
        invoices.pay(store, invoice, now, base_url, subscription["default_payment_method"])
    if invoice["status"] == "open" and behavior == "allow_incomplete":
        subscription["status"] = "past_due"
    if invoice["status"] != "paid" and behavior == "error_if_incomplete":
        error = payment_error(store, invoice)
        invoices.void(store, invoice, now)
        subscription.update(pending_update=None, latest_invoice=before)
        raise error


def trial_invoice(
    store: ObjectStore, subscription: JsonObject, customer: JsonObject, now: int, base_url: str
) -> None:
    """The trial's end moved later: its period changed, so Stripe invoices the new trial
    period at once, for nothing (and the pending items of the subscription with it)."""
    lines = [
        objects.period_line(store, subscription, item, free=True)
        for item in subscription["items"]["data"]
    ]
    invoice = invoices.draft(
        store,
        now,
        base_url,
        customer,
        currency=subscription["currency"],
        billing_reason="subscription_update",
        subscription=subscription,
        lines=lines,
        period=(now, now),
    )
    subscription["latest_invoice"] = invoice["id"]
    invoices.finalize(store, invoice, now)
    if invoice["status"] == "open":
        invoices.pay(store, invoice, now, base_url, subscription["default_payment_method"])
