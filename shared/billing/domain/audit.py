"""The billing invariants, as pure rules: what a customer holds against what Stripe bills.

The audit (`billing.services.billing.audit`) reads a customer's holdings, the plan version behind
each, its Stripe subscriptions (with their schedules) and the period-end switches kept for
them, and the rules (`domain.audit_rules`) say where the two disagree. Each disagreement is a
`Drift` naming the invariant it breaks:

- I1: at most one main plan per group is active (add-ons and one-off purchases aside).
- I2: every active paid recurring plan is billed by a live Stripe subscription. A paid plan
  an operator enabled without billing (paid outside Stripe) is reported too: the holdings do
  not record yet that it was given by hand.
- I3: every live Stripe subscription bills a plan the customer holds.
- I4: one live Stripe subscription per held plan (and one held plan per subscription).
- I5: every balance adds up, remaining + usage = granted, and what is granted comes from
  what is held: no grant of a plan the customer does not hold, one grant per held plan item,
  and a prepaid grant equal to the packages Stripe bills; an add-on held stacked (bought
  again) held as many times as its Stripe subscription bills its price, and a plain paid
  plan held once.
- I6: nothing is scheduled without Stripe bringing it: a plan shown as scheduled has a
  Stripe subscription that switches to it at its period end (a schedule phase selling it,
  or, for a free plan, a cancellation at the period end) and a switch kept here that grants
  it then; and, the other way, Stripe brings no change nobody shows (a phase to come or a
  cancellation of a subscription whose plan shows no end).

"Live": a Stripe subscription bills, or will bill again without a new subscription, in the
statuses `active`, `trialing`, `past_due`, `unpaid` and `paused` (past_due and unpaid still
raise invoices; a paused one resumes once a card is added). `incomplete` is not live: its
first invoice is unpaid and Stripe bills nothing until it is, so nothing may be granted for
it yet (a plan held on it alone is I2); it is not I3 either, as an open, unpaid first attempt
is a purchase still waiting for the customer. `incomplete_expired` and `canceled` never bill
again. A subscription collected by invoice (`send_invoice`) is active at once, before its
first invoice is paid: until then it is not I3 either (a purchase waiting for the customer),
though it bills a plan granted before payment (`enable_plan_immediately`).

A held plan is matched to the Stripe subscription it recorded when granted, as the
subscription sync matches them, and that subscription must sell one of the plan version's
prices; a plan granted before the ids were recorded is matched by those prices alone. So a
second subscription selling the same price (made in Stripe's dashboard, or a duplicate
checkout) bills no held plan: I3.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict

from billing.domain.customers import Customer
from billing.domain.holdings import Subscription
from billing.domain.plans import Plan
from billing.domain.stripe_subscriptions import StripeSubscription

Invariant = Literal["I1", "I2", "I3", "I4", "I5", "I6"]

# Stripe statuses in which a subscription bills (or resumes billing by itself): see above.
LIVE_STATUSES = frozenset({"active", "trialing", "past_due", "unpaid", "paused"})

INVARIANTS: dict[Invariant, str] = {
    "I1": "at most one active main plan per group",
    "I2": "every active paid plan billed by a live Stripe subscription",
    "I3": "every live Stripe subscription bills a held plan",
    "I4": "one live Stripe subscription per held plan",
    "I5": "remaining + usage = granted, granted from what is held",
    "I6": "nothing scheduled without Stripe bringing it",
}


class Drift(BaseModel):
    """One disagreement between what a customer holds and what Stripe bills."""

    model_config = ConfigDict(frozen=True)

    # The application's id of the customer (None for a customer not claimed yet).
    customer_id: str | None
    internal_id: str
    invariant: Invariant
    # What was found, in plain words, with the ids to look at.
    found: str
    plan_id: str | None = None
    stripe_subscription_id: str | None = None


# A stored report keeps this many drifts (its count keeps them all): one DynamoDB item.
KEPT_DRIFTS = 200


class AuditReport(BaseModel):
    """What one audit run found: over every customer, or over one."""

    model_config = ConfigDict(frozen=True)

    started_at: int
    finished_at: int | None = None
    customers_audited: int = 0
    # Every drift found, also those a stored report no longer lists.
    drift_count: int = 0
    drifts: tuple[Drift, ...] = ()
    # Where a run cut short resumes; None once every customer was audited.
    next_cursor: str | None = None

    @property
    def complete(self) -> bool:
        return self.finished_at is not None

    def drifted_customers(self) -> list[str]:
        """The customers listed with a drift (by id, else internal id), in order, once."""
        return list(dict.fromkeys(d.customer_id or d.internal_id for d in self.drifts))

    def with_page(self, audited: int, drifts: Sequence[Drift], cursor: str | None) -> AuditReport:
        return self.model_copy(
            update={
                "customers_audited": self.customers_audited + audited,
                "drift_count": self.drift_count + len(drifts),
                "drifts": (*self.drifts, *drifts),
                "next_cursor": cursor,
            }
        )

    def kept(self, limit: int = KEPT_DRIFTS) -> AuditReport:
        """The report as stored: at most `limit` drifts listed."""
        return self.model_copy(update={"drifts": self.drifts[:limit]})


@dataclass(frozen=True)
class Switch:
    """A change kept here for a Stripe subscription's period end: the purchase it grants."""

    purchase_id: str
    plan_id: str
    # Whether the purchase still waits (pending) or was granted.
    pending: bool


@dataclass(frozen=True)
class CustomerFacts:
    """Everything the rules look at for one customer."""

    customer: Customer
    # held subscription id -> the plan version it holds (missing: the version is gone)
    held_plans: Mapping[str, Plan]
    # Every Stripe subscription of the customer's Stripe customer, whatever its status.
    stripe_subscriptions: Sequence[StripeSubscription] = ()
    # Stripe subscription id -> the switch kept for its period end.
    switches: Mapping[str, Switch] = field(default_factory=dict)


def is_live(subscription: StripeSubscription) -> bool:
    return subscription.status in LIVE_STATUSES


def drift(
    facts: CustomerFacts,
    invariant: Invariant,
    found: str,
    plan_id: str | None = None,
    stripe_subscription_id: str | None = None,
) -> Drift:
    return Drift(
        customer_id=facts.customer.id,
        internal_id=facts.customer.internal_id,
        invariant=invariant,
        found=found,
        plan_id=plan_id,
        stripe_subscription_id=stripe_subscription_id,
    )


def active_plans(facts: CustomerFacts) -> list[Subscription]:
    return [s for s in facts.customer.holdings.subscriptions if s.status == "active"]
