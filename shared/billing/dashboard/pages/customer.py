"""One customer: profile, plans held, balances, usage over the last 30 days, latest events,
invoices; and the forms that change them. A pre-created customer (no id yet) is found by its
email."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from aws_lambda_powertools.event_handler import Response

from billing import clock, stripe_api
from billing.api.errors import status_of
from billing.config import settings
from billing.dashboard.chart import DAY_MS, DAYS, Chart, charts, first_day
from billing.dashboard.forms import (
    BalanceForm,
    CancelForm,
    EnablePlanForm,
    ProfileForm,
    parsed,
)
from billing.dashboard.web import Request, link, page, redirect
from billing.domain.customer_changes import CustomerChanges
from billing.domain.customers import Customer
from billing.domain.errors import BillingError, CustomerNotFound, InvalidRequest
from billing.domain.holdings import Subscription, balances
from billing.domain.reports import StoredEvent
from billing.domain.usage import usable
from billing.services.balances.events import aggregate_events, list_events
from billing.services.balances.grants import BalanceChange, update_balance
from billing.services.billing.enable_plan import EnablePlan, enable_plan
from billing.services.billing.invoices import list_invoices
from billing.services.billing.update import update
from billing.services.billing.updating import UpdatePlan
from billing.services.catalog.features import list_features
from billing.services.catalog.plans import list_plans
from billing.services.customers.update import UpdateCustomer, update_customer
from billing.store import customers
from billing.store.invoices import InvoiceRecord

LATEST_EVENTS = 20
LATEST_INVOICES = 20
PRE_CREATED = (
    "A pre-created customer is changed once the application claims it (get_or_create with its "
    "email); until then only plans can be enabled on it."
)
DONE = {
    "created": "Customer saved.",
    "profile": "Profile saved.",
    "plan": "Plan enabled.",
    "balance": "Balance saved.",
    "cancel_end_of_cycle": "The plan is canceled at the end of its period.",
    "uncancel": "The cancellation is taken back: the plan renews.",
    "cancel_immediately": "The plan is canceled now.",
}


class PlanHeld(NamedTuple):
    subscription: Subscription
    name: str
    status: str
    # Another plan of its group is scheduled to replace it at the period end (a downgrade):
    # uncancel takes that back too.
    replaced_later: bool = False

    @property
    def cancelable(self) -> bool:
        """A recurring plan in force: it can be canceled, or its cancellation taken back."""
        return not self.subscription.one_off and self.subscription.status == "active"

    @property
    def canceling(self) -> bool:
        return self.status == "canceling at period end"


def show(request: Request, error: str | None = None, status: int = 200) -> Response[str]:
    customer = _customer(request.query.get("id"), request.query.get("email"))
    now = clock.now_ms()
    features = {f.id: f for f in list_features()}
    plans = list_plans(include_archived=True, all_versions=False)
    names = {p.id: p.name for p in plans}
    groups = {p.id: p.group or "" for p in plans}
    coming = {
        groups[s.plan_id]
        for s in customer.holdings.subscriptions
        if s.status == "scheduled" and not s.add_on and s.plan_id in groups
    }
    held = [
        PlanHeld(
            s,
            names.get(s.plan_id, s.plan_id),
            _status(s, now),
            s.status == "active" and not s.add_on and groups.get(s.plan_id) in coming,
        )
        for s in customer.holdings.subscriptions
    ]
    held_balances = balances(usable(customer.holdings.grants, now))
    metered = [held_balances[f] for f in sorted(held_balances)]
    charted, events = _usage(customer.id, [b.feature_id for b in metered], now)
    return page(
        request,
        "customer.html",
        status=status,
        customer=customer,
        ref=_ref(customer),
        plans_held=held,
        plans_to_enable=[p for p in plans if not p.archived],
        balances=metered,
        flags=customer.holdings.flags,
        features=features,
        charts=charted,
        events=events,
        invoices=_invoices(customer),
        stripe_url=_stripe_url(customer.stripe_id),
        done=DONE.get(request.query.get("done", "")),
        error=error,
    )


def _usage(
    customer_id: str | None, feature_ids: list[str], now: int
) -> tuple[list[Chart] | None, list[StoredEvent]]:
    """The 30-day charts (None when there are too many events to sum here) and the latest
    events. A pre-created customer has none: usage is tracked under an id."""
    if customer_id is None:
        return [], []
    start = first_day(now)
    try:
        bins, _ = aggregate_events(customer_id, feature_ids, start, now, "day", "sum", None, None)
    except InvalidRequest:  # more events than one aggregate reads
        charted = None
    else:
        charted = charts(bins, feature_ids, now)
    latest = list_events(customer_id, now - DAYS * DAY_MS, now, None, None, LATEST_EVENTS)[0]
    return charted, latest


def _invoices(customer: Customer) -> list[InvoiceRecord]:
    """The newest invoices; a pre-created customer has none (attach needs an id)."""
    if customer.id is None:
        return []
    return list_invoices(customer.id, LATEST_INVOICES, None)[0]


def update_profile(request: Request) -> Response[str]:
    def change(customer: Customer) -> str:
        form = parsed(ProfileForm, request.form)
        changes = CustomerChanges(name=form.name, email=form.email, metadata=form.metadata or {})
        update_customer(UpdateCustomer(_id_of(customer), changes), stripe=stripe_api.get_gateway)
        return "profile"

    return _changed(request, change)


def enable(request: Request) -> Response[str]:
    def change(customer: Customer) -> str:
        form = parsed(EnablePlanForm, request.form)
        enable_plan(EnablePlan(form.plan_id, customer.id, customer.email))
        return "plan"

    return _changed(request, change)


def update_balances(request: Request) -> Response[str]:
    def change(customer: Customer) -> str:
        form = parsed(BalanceForm, request.form)
        update_balance(
            BalanceChange(
                customer_id=_id_of(customer),
                feature_id=form.feature_id,
                balance_id=form.balance_id,
                remaining=form.remaining,
                included=form.included,
            )
        )
        return "balance"

    return _changed(request, change)


def cancel(request: Request) -> Response[str]:
    def change(customer: Customer) -> str:
        form = parsed(CancelForm, request.form)
        command = UpdatePlan(
            customer_id=_id_of(customer),
            subscription_id=form.subscription_id,
            cancel_action=form.cancel_action,
        )
        update(command, stripe=stripe_api.get_gateway)
        return form.cancel_action

    return _changed(request, change)


def _changed(request: Request, change: Callable[[Customer], str]) -> Response[str]:
    """Runs the change on the customer the query names, then shows its page again: on
    success by a redirect (a reload posts nothing twice), else with the error."""
    customer = _customer(request.query.get("id"), request.query.get("email"))
    try:
        done = change(customer)
    except BillingError as error:
        return show(request, error=error.message, status=status_of(error))
    return redirect(request, _here(customer, done=done))


def _customer(customer_id: str | None, email: str | None) -> Customer:
    found = None
    if customer_id:
        found = customers.load(customer_id)
    elif email:
        found = customers.load_unclaimed(email)
    if found is None:
        raise CustomerNotFound
    return found


def _id_of(customer: Customer) -> str:
    if customer.id is None:
        raise InvalidRequest(PRE_CREATED)
    return customer.id


def _ref(customer: Customer) -> dict[str, str | None]:
    """How the dashboard's URLs name the customer: its id, else (pre-created) its email."""
    return {"email": customer.email} if customer.id is None else {"id": customer.id}


def _here(customer: Customer, **more: str) -> str:
    return link("/customer", **_ref(customer), **more)


def _status(subscription: Subscription, now: int) -> str:
    if subscription.status == "scheduled":
        return "scheduled"
    if subscription.past_due:
        return "past due"
    if subscription.canceled_at is not None or subscription.expires_at is not None:
        return "canceling at period end"
    if subscription.trial_ends_at is not None and subscription.trial_ends_at > now:
        return "trialing"
    return "active"


def _stripe_url(stripe_id: str | None) -> str | None:
    """The customer in Stripe's own dashboard, in the mode this deployment's key is for."""
    if stripe_id is None:
        return None
    mode = "" if settings().environment == "live" else "test/"
    return f"https://dashboard.stripe.com/{mode}customers/{stripe_id}"
