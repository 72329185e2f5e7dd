"""Stripe subscriptions: read (into the domain's `StripeSubscription`), listed, canceled,
and changed at once (another plan, new quantities), the change applied only once its
invoice is paid."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from billing.config import settings
from billing.domain.errors import InvalidRequest, StripeCustomerGone, StripeRejected
from billing.domain.stripe_subscriptions import (
    StripeSubscription,
    SubscriptionItem,
    UpcomingPhase,
)
from billing.stripe_api.call import Refusal, once
from billing.stripe_api.changes import (
    PlanChange,
    QuantityChange,
    added_invoice_items,
    quantity_items,
    replaced_items,
    trial_end_param,
)
from billing.stripe_api.invoices import Payment
from billing.stripe_api.objects import PURCHASE_KEY, id_of

if TYPE_CHECKING:
    from billing.stripe_api.call import StripeCall
    from billing.stripe_api.invoices import Invoices

# Subscription statuses that may still charge the customer (an incomplete one, once paid).
_MAY_BILL = frozenset({"active", "trialing", "past_due", "incomplete", "unpaid", "paused"})
# Statuses in which a subscription is in force (paid, or in a trial) and can be changed.
_LIVE = ("active", "trialing", "past_due")


def subscription_from(fields: dict[str, Any]) -> StripeSubscription:
    """Our reading of Stripe's subscription object (API version 2026-10-28: billing
    periods live on the items)."""
    data = (fields.get("items") or {}).get("data") or []
    items = tuple(
        SubscriptionItem(
            price_id=str(_id(item["price"])),
            quantity=int(item.get("quantity") or 0),
            id=str(item.get("id") or ""),
        )
        for item in data
    )
    first = data[0] if data else {}
    customer = fields.get("customer")
    return StripeSubscription(
        id=str(fields["id"]),
        customer=str(_id(customer)),
        status=str(fields.get("status")),
        items=items,
        cancel_at_period_end=bool(fields.get("cancel_at_period_end")),
        cancel_at=fields.get("cancel_at"),
        canceled_at=fields.get("canceled_at"),
        current_period_start=first.get("current_period_start"),
        current_period_end=first.get("current_period_end"),
        trial_end=fields.get("trial_end"),
        purchase_id=(fields.get("metadata") or {}).get(PURCHASE_KEY),
        schedule_id=_id(fields.get("schedule")),
        upcoming_phases=_upcoming(fields.get("schedule")),
        awaiting_first_invoice=_awaiting_first_invoice(fields),
        latest_invoice=_id(fields.get("latest_invoice")),
        pending_update=bool(fields.get("pending_update")),
        ended_at=fields.get("ended_at"),
    )


def _awaiting_first_invoice(fields: dict[str, Any]) -> bool:
    latest = fields.get("latest_invoice")
    return (
        fields.get("collection_method") == "send_invoice"
        and isinstance(latest, dict)
        and latest.get("billing_reason") == "subscription_create"
        and latest.get("status") in ("draft", "open")
    )


def _upcoming(schedule: Any) -> tuple[UpcomingPhase, ...]:
    """The phases of an expanded, still open schedule that start after its current one."""
    if not isinstance(schedule, dict) or schedule.get("status") not in ("not_started", "active"):
        return ()
    current = schedule.get("current_phase") or {}
    after = int(current.get("end_date") or 0)
    return tuple(
        UpcomingPhase(
            start=int(phase["start_date"]),
            price_ids=frozenset(str(_id(item["price"])) for item in phase.get("items") or []),
            purchase_id=(phase.get("metadata") or {}).get(PURCHASE_KEY),
        )
        for phase in schedule.get("phases") or []
        if int(phase.get("start_date") or 0) >= after
    )


def _id(value: Any) -> Any:
    return value["id"] if isinstance(value, dict) else value


class Subscriptions:
    def __init__(self, call: StripeCall, invoices: Invoices) -> None:
        self._call = call
        self._invoices = invoices

    def retrieve(self, subscription_id: str) -> StripeSubscription | None:
        """The subscription as Stripe has it now; None when Stripe has no such one."""
        fields = self._call.retrieve("subscription", subscription_id)
        return None if fields is None else subscription_from(fields)

    def selling(self, stripe_customer: str, price_ids: frozenset[str]) -> StripeSubscription | None:
        """The customer's live subscription with an item of one of these prices, if any."""
        try:
            return subscription_from(self._selling(stripe_customer, price_ids))
        except StripeRejected:
            raise  # Stripe refused the listing itself: not "none sells them"
        except InvalidRequest:
            return None

    def list_all(self, stripe_customer: str) -> tuple[StripeSubscription, ...]:
        """Every subscription of the customer, whatever its status (ended ones too), with
        the phases its schedule still has to come (the billing audit reads them)."""
        found: list[StripeSubscription] = []
        after: str | None = None
        while True:
            params: Any = {
                "customer": stripe_customer,
                "status": "all",
                "limit": 100,
                # The latest invoice says whether a subscription collected by invoice is
                # still waiting for its first payment (see `awaiting_first_invoice`).
                "expand": ["data.schedule", "data.latest_invoice"],
                **({"starting_after": after} if after else {}),
            }
            listed = self._call(partial(self._call.v1.subscriptions.list, params))
            page = [subscription_from(item.to_dict()) for item in listed.data]
            found.extend(page)
            if not listed.has_more or not page:
                return tuple(found)
            after = page[-1].id

    def live_ids(self, stripe_customer: str) -> list[str]:
        """Every subscription of the customer that may still bill it (whatever it sells);
        none for a customer Stripe no longer has."""
        params: Any = {"customer": stripe_customer, "status": "all", "limit": 100}
        found = self._call.attempt(
            lambda: [
                s.to_dict() for s in self._call.v1.subscriptions.list(params).auto_paging_iter()
            ]
        )
        if isinstance(found, Refusal):
            if isinstance(found.error, StripeCustomerGone):
                return []  # Stripe ended its subscriptions when it deleted the customer
            raise found.error from found.cause
        return [str(s["id"]) for s in found if s["status"] in _MAY_BILL]

    def cancel_now(
        self, subscription_id: str, credit_unused: bool = False
    ) -> StripeSubscription | None:
        """Ends the subscription at once (a subscription ends once: one key per id). With
        `credit_unused`, the unused time of its period is credited on a final invoice (to
        the customer's Stripe credit balance); else nothing is refunded. One that had
        already ended is left as it is."""
        options = once("subscription.cancel", subscription_id)
        params: Any = {"prorate": True, "invoice_now": True} if credit_unused else {}
        # Already ended (no such live subscription) is what we wanted.
        self._call.found(
            lambda: self._call.v1.subscriptions.cancel(subscription_id, params, options)
        )
        return self.retrieve(subscription_id)

    def set_cancel_at_period_end(
        self, subscription_id: str, cancel: bool, change_id: str
    ) -> StripeSubscription:
        """Cancels at the period end, or takes that back. `change_id` names this change
        (a retry of it reaches the same Stripe request; the next change has another)."""
        params: Any = {"cancel_at_period_end": cancel}
        options = once("subscription.cancel_at_period_end", change_id)
        updated = self._call(
            lambda: self._call.v1.subscriptions.update(subscription_id, params, options)
        )
        return subscription_from(updated.to_dict())

    def change_plan(self, change: PlanChange) -> Payment:
        """Replaces a paid subscription's plan at once; a card error is a `Payment`."""
        subscription = self.changed(change)
        before = id_of(subscription.get("latest_invoice"))
        # Metadata cannot change with pending_if_incomplete: the new invoice carries ours.
        params: Any = {
            "items": replaced_items(subscription, change),
            "proration_behavior": change.proration,
            "payment_behavior": "pending_if_incomplete",
        }
        if change.charges:
            currency = str(subscription.get("currency") or settings().currency)
            params["add_invoice_items"] = added_invoice_items(change, currency)
        trial_end = trial_end_param(change, subscription)
        if trial_end is not None:
            # One of the attributes a pending update takes: declined, the trial goes on.
            params["trial_end"] = trial_end
        # The charges are part of the keyed request: a retry of the attempt sends the same
        # ones (read back from their record) and Stripe replays it, billing nothing more.
        options = once("subscription.update", change.purchase_id)
        updated = self._call(
            lambda: self._call.v1.subscriptions.update(subscription["id"], params, options)
        ).to_dict()
        invoice_id = id_of(updated.get("latest_invoice"))
        if invoice_id is None or invoice_id == before:
            return Payment("paid", None, subscription_id=str(updated["id"]))  # nothing due
        summary = self._invoices.summary(invoice_id)
        if summary.status == "paid":
            return Payment("paid", summary, subscription_id=str(updated["id"]))
        self._invoices.tag(invoice_id, change.purchase_id)
        return self._invoices.pay(invoice_id, None, str(updated["id"]))

    def change_quantities(self, change: QuantityChange) -> Payment:
        """New item quantities, applied once their invoice is paid; a card error is a
        `Payment`."""
        found = self._call(
            lambda: self._call.v1.subscriptions.retrieve(change.subscription_id)
        ).to_dict()
        before = id_of(found.get("latest_invoice"))
        if found.get("pending_update") and before is not None:
            # An earlier change still waits for its invoice (declined, or never paid): it
            # is voided, so it can't be paid on top of this one, which is a new attempt.
            self._invoices.void(before)
        params: Any = {
            "items": quantity_items(found, change),
            "proration_behavior": change.proration,
            "payment_behavior": "pending_if_incomplete",
        }
        # The invoice before names the attempt: after a decline, the same change asked
        # again is a new request to Stripe, not a replay of the declined one.
        options = once("subscription.quantities", change.change_id, before)
        updated = self._call(
            lambda: self._call.v1.subscriptions.update(change.subscription_id, params, options)
        ).to_dict()
        invoice_id = id_of(updated.get("latest_invoice"))
        if invoice_id is None or invoice_id == before:
            return Payment("paid", None, subscription_id=str(updated["id"]))  # nothing due
        summary = self._invoices.summary(invoice_id)
        if summary.status == "paid":
            return Payment("paid", summary, subscription_id=str(updated["id"]))
        return self._invoices.pay(invoice_id, None, str(updated["id"]))

    def changed(self, change: PlanChange) -> dict[str, Any]:
        """The Stripe subscription a plan change is about: the one recorded on the plan."""
        if change.subscription_id is None:
            return self._selling(change.stripe_customer, change.leaving_price_ids)
        subscription_id = change.subscription_id
        found: dict[str, Any] = self._call(
            lambda: self._call.v1.subscriptions.retrieve(subscription_id)
        ).to_dict()
        if found["status"] not in _LIVE:
            raise InvalidRequest(
                "The customer's current plan has no live subscription in Stripe to change.",
                details=[{"field": "plan_id", "message": "its Stripe subscription has ended"}],
            )
        return found

    def _selling(self, stripe_customer: str, price_ids: frozenset[str]) -> dict[str, Any]:
        """The customer's live subscription with an item of one of these prices (every page:
        a customer may hold more than 100, one per add-on)."""
        params: Any = {"customer": stripe_customer, "limit": 100}
        listed = self._call(
            lambda: [
                s.to_dict() for s in self._call.v1.subscriptions.list(params).auto_paging_iter()
            ]
        )
        for fields in listed:
            if fields["status"] not in _LIVE:
                continue
            if any(item["price"]["id"] in price_ids for item in fields["items"]["data"]):
                return fields
        raise InvalidRequest(
            "The customer's current plan has no live subscription in Stripe to change.",
            details=[{"field": "plan_id", "message": "no Stripe subscription to upgrade"}],
        )
