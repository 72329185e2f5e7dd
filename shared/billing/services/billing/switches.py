"""A change scheduled for a Stripe subscription's period end (a downgrade, a move to a free
plan): the pending purchase that grants it then, found by the subscription, and the plan
shown as scheduled until then. Read by the subscription sync and by whatever takes the
change back."""

from __future__ import annotations

from typing import NamedTuple

from billing.domain.customers import Customer
from billing.domain.holdings import Holdings, Subscription
from billing.domain.plans import Plan
from billing.domain.purchases import PendingPurchase
from billing.store import purchases, scheduled_switches
from billing.store.catalog import Catalog


class Switch(NamedTuple):
    """A change scheduled for a subscription's period end: the purchase it grants then."""

    purchase: PendingPurchase
    plan: Plan
    at_ms: int


def switch_of(subscription_id: str, current: Catalog, customer: Customer) -> Switch | None:
    """The customer's change scheduled for the subscription's period end, if any."""
    found = scheduled_switches.scheduled_switch(subscription_id)
    purchase = purchases.load(found[0]) if found is not None else None
    if found is None or purchase is None or purchase.internal_id != customer.internal_id:
        return None
    plan = current.version(purchase.plan_id, purchase.plan_version)
    return None if plan is None else Switch(purchase, plan, found[1])


def pending_downgrade(switch: Switch | None) -> Switch | None:
    """The switch when it moves the plan held to another paid plan at the period end and
    is still to come (a move to a free plan is a cancellation Stripe shows itself)."""
    if switch is None or switch.purchase.status != "pending" or switch.plan.free:
        return None
    return switch


def shown_as_scheduled(switch: Switch | None, holdings: Holdings) -> tuple[Subscription, ...]:
    """The plan shown as scheduled until the switch, while it is still to come."""
    if switch is None or switch.purchase.status != "pending":
        return ()
    return tuple(
        s for s in holdings.subscriptions if s.status == "scheduled" and s.plan_id == switch.plan.id
    )
