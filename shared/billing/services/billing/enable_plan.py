"""Enabling a plan without billing: the operator's way to give a customer a plan paid
outside Stripe (an enterprise deal paid by invoice), also on a pre-created customer.

The plan is granted at once, as a paid attach grants it once paid, and replaces the plan of
its group the customer holds (as an immediate upgrade or downgrade would); no trial, nothing
in Stripe.
"""

from __future__ import annotations

from dataclasses import dataclass

from billing import clock
from billing.domain.attach import AttachOptions, decide, left_behind, purchased_holdings, seats_kept
from billing.domain.customers import Customer
from billing.domain.errors import CustomerNotFound, PlanNotFound
from billing.domain.holdings import Holdings
from billing.services.retry import on_conflict
from billing.store import catalog, customers, staged_changes


@dataclass(frozen=True)
class EnablePlan:
    plan_id: str
    # The customer: by its id, or (pre-created, no id yet) by its email.
    customer_id: str | None = None
    email: str | None = None


def enable_plan(command: EnablePlan) -> None:
    on_conflict(lambda: _enable(command))


def _enable(command: EnablePlan) -> None:
    customer = _customer(command)
    current = catalog.load()
    plan = current.latest(command.plan_id)
    if plan is None:
        raise PlanNotFound(f"No plan '{command.plan_id}'.")
    held_plans = {
        sub.id: version
        for sub in customer.holdings.subscriptions
        if (version := current.version(sub.plan_id, sub.plan_version)) is not None
    }
    # The attach rules decide what the plan replaces (and refuse a plan already held).
    options = AttachOptions(plan_schedule="immediate", no_trial=True)
    decision = decide(plan, customer.holdings, held_plans, True, options)
    now = clock.now_ms()
    added = purchased_holdings(plan, current.features, {}, now, clock.new_internal_id)
    held = customer.holdings
    removed = left_behind(held, decision.replaces) if decision.replaces else Holdings()
    added = seats_kept(added, removed, current.features)
    also = [] if plan.in_use else [catalog.mark_in_use(plan)]
    change_id = clock.new_internal_id("enable")
    staged_changes.exchange(customer, change_id, added, removed, also, now)


def _customer(command: EnablePlan) -> Customer:
    if command.customer_id is not None:
        found = customers.load(command.customer_id)
    elif command.email:
        found = customers.load_unclaimed(command.email)
    else:
        found = None
    if found is None:
        raise CustomerNotFound
    return found
