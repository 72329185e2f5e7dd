"""The last period of a paid plan that leaves when its period ends: its overage is still billed.

Usage past a usage-based allowance is billed in arrears, when the period closes. A renewal
closes it (see `renewals`); a plan that leaves at its period end has no renewal of its own:
- its Stripe subscription ends there (`cancel_end_of_cycle`, a cancellation at the period
  end in the portal, a move to a free plan): the period is closed when the subscription sync
  first sees it ended, and its overage billed on a final invoice of its own, charged to the
  subscription's card or the customer's default (as Autumn bills it, and as Stripe bills a
  metered price's usage on a final invoice when a subscription cancels at its period end);
- a downgrade to another paid plan switches in on the same subscription: the period is
  closed before the new plan is granted, and the renewal's draft invoice carries the old
  plan's overage beside the new plan's price (the renewal reads the charges recorded here).

An upgrade made at once ends the old plan's period there: its overage so far is recorded
(`upgrade_overage`, once per attempt) before Stripe changes the subscription, and billed on
the upgrade's own invoice (the subscription update's `add_invoice_items`), so that whoever
pays that invoice, now or later, pays it too, and an upgrade never paid bills none of it
(the old plan stays, and its renewal bills the whole period's overage; the renewal voids an
upgrade's invoice still open then, see `renewals`). An upgrade that invoices nothing now (no
proration) leaves them for the subscription's next invoice; one made during a trial bills
none (the trial ends or restarts with it, and its usage is free). Usage on the old plan
after the attach and before a late payment is recorded by the grant (see `late_overage`).
Its charges
have keys of their own (the renewal's, naming the attempt too): a renewal never mistakes an
unpaid upgrade's line for its own charge.

Nothing is billed for a subscription cut short (canceled now: as in Autumn, an immediate
cancel bills no overage), nor for one that ended with its trial, nor for a plan switched away
from at its trial's end (as in Autumn, trial usage is billed only by a first paid period it
is carried into).

Each period closes once (`store.period_closes`, keyed by the Stripe subscription and the
period's end, in the transaction that resets the grants): the charges are computed from the
usage once, then read back by every later event. The final invoice is found again by its
metadata and made with Stripe idempotency keys derived from the same key, so a late or
repeated `customer.subscription.deleted` never bills twice.
"""

from __future__ import annotations

from dataclasses import replace

from billing import clock
from billing.domain.customers import Customer
from billing.domain.holdings import Grant, Subscription
from billing.domain.periods import (
    OverageCharge,
    closing_grants,
    overage_of,
    reset_for_new_period,
    resets_with_period,
)
from billing.domain.plans import Plan
from billing.domain.stripe_subscriptions import StripeSubscription
from billing.domain.stripe_sync import billed_by, held_for, sells
from billing.observability import logger
from billing.services.billing.switches import Switch
from billing.services.retry import on_conflict
from billing.store import customers, period_closes
from billing.stripe_api import StripeFactory


def overage_charges(
    customer: Customer,
    grants: list[Grant],
    held: list[tuple[Subscription, Plan]],
    period_start_s: int,
    period_end_s: int,
) -> tuple[OverageCharge, ...]:
    """What the period's usage past its usage-based allowances costs, one charge a grant,
    each keyed by the customer, feature, plan and period. Nothing for a customer whose
    config says so (Autumn's disable_overage_billing)."""
    if customer.config.disable_overage_billing:
        return ()
    return tuple(
        OverageCharge(
            feature_id=overage.feature_id,
            description=f"{overage.units} {overage.feature_id} past the allowance",
            idempotency_key=(
                f"overage:{customer.internal_id}:{overage.feature_id}:{overage.plan_id}:"
                f"{period_start_s}-{period_end_s}"
            ),
            price_id=_item_price(held, overage.plan_id, overage.feature_id),
            quantity=overage.packages,
            amount=overage.amount,
        )
        for grant in grants
        if (overage := overage_of(grant)) is not None
    )


def overage_so_far(
    customer: Customer, held: Subscription, plan: Plan, start_s: int, end_s: int
) -> tuple[OverageCharge, ...]:
    """What the usage of one paid plan held costs past its allowances in the period so far
    (an upgrade ends it early: at the attach, and again at a late-paid grant)."""
    grants = [g for g in customer.holdings.grants if g.plan_id == plan.id and resets_with_period(g)]
    return overage_charges(customer, grants, [(held, plan)], start_s, end_s)


def close_ending_period(
    customer: Customer,
    held_plans: dict[str, Plan],
    state: StripeSubscription,
    switch: Switch | None,
) -> bool:
    """Closes the period whose paid plans leave with it, once Stripe says they do (see
    `_ending_period`): their overage recorded (for a final invoice, or for the renewal's
    draft), their balances reset. A plan past due bills nothing (as at a renewal). True
    when this call closed it (the customer's grants changed: read them again)."""
    end_s = _ending_period(state, switch)
    if end_s is None or period_closes.load(state.id, end_s) is not None:
        return False
    billed = billed_by(customer.holdings, state.id)
    if not billed:
        found = held_for(customer.holdings, held_plans, state)
        billed = [] if found is None else [found]
    held = [
        (sub, plan)
        for sub in billed
        if (plan := held_plans.get(sub.id)) is not None and plan.stripe is not None
    ]
    if not held:
        return False
    closing = {plan.id for sub, plan in held if not sub.past_due or plan.ignore_past_due}
    # A plan switched away from at its trial's end: the trial's usage is not billed.
    grants = closing_grants(customer.holdings.grants, closing, state.trial_end == end_s)
    start_s = min((sub.current_period_start or 0) // 1000 for sub, _plan in held)
    charges = overage_charges(customer, grants, held, start_s, end_s)
    now = clock.now_ms()
    resets = [(g, reset_for_new_period(g, now)) for g in grants]
    try:
        period_closes.close(customer, state.id, end_s, charges, resets, now)
    except period_closes.PeriodAlreadyClosed:
        return False
    return True


def upgrade_overage(
    customer: Customer,
    replaced: Subscription,
    leaving: Plan,
    live: StripeSubscription,
    purchase_id: str,
) -> tuple[OverageCharge, ...]:
    """The overage the plan left by an immediate upgrade accrued in its period so far (its
    balances are reset by the upgrade's grant), billed on the upgrade's own invoice.
    Recorded once per attempt, before Stripe changes the subscription (the grant may come
    first from a webhook): a retry reads the same charges back, so the keyed update it
    sends again is the same request. Each charge's key is the renewal's for that period
    and feature, prefixed with the attempt (its period stays last): never taken for the
    renewal's own charge (an unpaid upgrade's voided line must not stop the renewal billing
    the period)."""
    return on_conflict(
        lambda: _record_upgrade_overage(customer, replaced, leaving, live, purchase_id),
        also=(period_closes.PeriodAlreadyClosed,),
    )


def _record_upgrade_overage(
    customer: Customer,
    replaced: Subscription,
    leaving: Plan,
    live: StripeSubscription,
    purchase_id: str,
) -> tuple[OverageCharge, ...]:
    closed = upgrade_close(live.id, purchase_id)
    start_s, end_s = live.current_period_start or 0, live.current_period_end or 0
    found = period_closes.load(closed, end_s)
    if found is not None:
        return found
    # Read again: taking back a pending end (or a track) may have changed it since.
    fresh = customers.load_by_stripe_id(customer.stripe_id or "") or customer
    charges = tuple(
        replace(charge, idempotency_key=f"upgrade@{purchase_id}:{charge.idempotency_key}")
        for charge in overage_so_far(fresh, replaced, leaving, start_s, end_s)
    )
    period_closes.close(fresh, closed, end_s, charges, [], clock.now_ms())
    return charges


def upgrade_close(subscription_id: str, purchase_id: str) -> str:
    """The record of an upgrade's close: the subscription and the attempt (a renewal's
    close of the same period is keyed by the subscription alone)."""
    return f"{subscription_id}@{purchase_id}"


def _ending_period(state: StripeSubscription, switch: Switch | None) -> int | None:
    """The end (Unix seconds) of the period whose plan leaves with it, when Stripe says it
    has: the subscription ended with its period, or it bills the paid plan of a downgrade
    scheduled for then (the plan held leaves before the renewal closes the period). None
    when no period ran its course (canceled now, a trial's end) or nothing leaves yet."""
    if state.ended:
        return state.current_period_end if state.ended_with_its_period else None
    if switch is None or switch.purchase.status != "pending" or switch.plan.free:
        return None
    started = state.current_period_start
    if started is None or started * 1000 < switch.at_ms or not sells(switch.plan, state):
        return None
    return started


def bill_final_period(state: StripeSubscription, stripe: StripeFactory) -> None:
    """Bills the overage of the last period of a subscription that ended with it, on a
    final invoice of its own (once, whatever the number of deliveries)."""
    if not state.ended_with_its_period or state.current_period_end is None:
        return
    charges = period_closes.load(state.id, state.current_period_end)
    if not charges:
        return
    customer = customers.load_by_stripe_id(state.customer)
    if customer is None:
        return  # no longer linked to a customer of ours: nothing of ours to bill
    key = f"final:{state.id}:{state.current_period_end}"
    payment = stripe().overage.bill_final(state.customer, key, charges, state.id)
    if payment is not None and payment.status != "paid":
        # Left open: Stripe retries it on its schedule, the hosted page can pay it.
        logger.warning(
            "final overage invoice not paid",
            extra={"subscription": state.id, "status": payment.status},
        )


def _item_price(
    held: list[tuple[Subscription, Plan]], plan_id: str | None, feature_id: str
) -> str | None:
    for _sub, plan in held:
        if plan.id == plan_id and plan.stripe is not None:
            return plan.stripe.item_price_ids.get(feature_id)
    return None
