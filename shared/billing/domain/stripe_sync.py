"""What a customer holds, brought in line with its Stripe subscription: pure rules, no I/O.

Stripe is the truth about a paid subscription once it exists (the portal, renewals, trial
ends and cancellations happen there); these functions say what our copy of it becomes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from billing.domain.holdings import Grant, Holdings, Subscription
from billing.domain.plans import Plan
from billing.domain.stacks import stack_billed
from billing.domain.stripe_subscriptions import StripeSubscription

# Stripe statuses in which the customer owes a payment that failed.
_OWING = frozenset({"past_due", "unpaid", "paused"})


def plan_price_ids(plan: Plan) -> frozenset[str]:
    """Every Stripe price of a plan version: how a Stripe subscription is matched to it."""
    return frozenset() if plan.stripe is None else plan.stripe.price_ids


def held_for(
    held: Holdings, held_plans: Mapping[str, Plan], stripe_sub: StripeSubscription
) -> Subscription | None:
    """The customer's main subscription that this Stripe subscription bills, found by the
    Stripe subscription's id it recorded, never by price: another Stripe subscription
    selling the same price (made in Stripe's dashboard, or a duplicate) drives nothing.
    A plan granted before the ids were recorded is matched once by price (see
    `_unrecorded_match`); the sync then records the id."""
    billed = billed_by(held, stripe_sub.id)
    if billed:
        return billed[0]
    return _unrecorded_match(held, held_plans, stripe_sub)


def billed_by(held: Holdings, stripe_subscription_id: str) -> list[Subscription]:
    """The recurring plans in force that this Stripe subscription bills (by recorded id)."""
    return [
        sub
        for sub in held.subscriptions
        if sub.stripe_subscription_id == stripe_subscription_id
        and not sub.one_off
        and sub.status == "active"
    ]


def _unrecorded_match(
    held: Holdings, held_plans: Mapping[str, Plan], stripe_sub: StripeSubscription
) -> Subscription | None:
    """Without a migration: a paid plan with no Stripe id recorded (granted before they
    were) is billed by a Stripe subscription that we made (it carries our purchase id) and
    that sells one of the plan's prices. A subscription made in Stripe's dashboard never
    matches."""
    if stripe_sub.purchase_id is None:
        return None
    for sub in held.subscriptions:
        plan = held_plans.get(sub.id)
        if plan is None or sub.one_off or sub.status != "active":
            continue
        if sub.stripe_subscription_id is None and plan_price_ids(plan) & stripe_sub.price_ids:
            return sub
    return None


def sells(plan: Plan, stripe_sub: StripeSubscription) -> bool:
    """Whether the Stripe subscription bills this plan now (every item is one of its
    prices): a scheduled change has switched in."""
    prices = plan_price_ids(plan)
    return bool(prices) and stripe_sub.price_ids <= prices


def synced(sub: Subscription, plan: Plan, stripe_sub: StripeSubscription) -> Subscription:
    """Our subscription as Stripe has it: which Stripe subscription and items bill it, its
    period, trial, cancellation and whether a payment is owed. Times are Stripe's seconds,
    ours are milliseconds."""
    canceling = stripe_sub.canceling
    ends = stripe_sub.cancel_at or stripe_sub.current_period_end
    stacked = stack_billed(plan, stripe_sub)
    return sub._replace(
        quantity=sub.quantity if stacked is None else stacked,
        stripe_subscription_id=stripe_sub.id,
        stripe_item_ids=stripe_sub.item_ids(plan_price_ids(plan)) or sub.stripe_item_ids,
        current_period_start=_ms(stripe_sub.current_period_start) or sub.current_period_start,
        current_period_end=_ms(stripe_sub.current_period_end) or sub.current_period_end,
        # Only while trialing: once converted (or ended) the plan is no longer on trial,
        # though Stripe keeps the trial's end (Autumn shows null then too).
        trial_ends_at=_ms(stripe_sub.trial_end) if stripe_sub.status == "trialing" else None,
        canceled_at=_ms(stripe_sub.canceled_at) if canceling else None,
        expires_at=_ms(ends) if canceling else None,
        past_due=stripe_sub.status in _OWING,
    )


def prepaid_synced(
    grants: Iterable[Grant], plan: Plan, stripe_sub: StripeSubscription
) -> list[tuple[Grant, Grant]]:
    """The plan's grants whose prepaid units differ from the packages Stripe bills (a
    quantity change, applied in Stripe once paid): (as held, as it should be)."""
    mirror = plan.stripe
    if mirror is None:
        return []
    billed = {item.price_id: item.quantity for item in stripe_sub.items}
    units = {
        item.feature_id: item.price.billing_units
        for item in plan.terms.items
        if item.price is not None and item.price.billing_method == "prepaid"
    }
    changed: list[tuple[Grant, Grant]] = []
    for grant in grants:
        if grant.plan_id != plan.id or grant.feature_id not in units:
            continue
        packages = billed.get(mirror.item_price_ids.get(grant.feature_id, ""))
        if packages is None:
            continue
        prepaid = Decimal(packages) * units[grant.feature_id]
        if prepaid != grant.prepaid:
            changed.append((grant, grant._replace(prepaid=prepaid)))
    return changed


def default_plan(plans: Iterable[Plan], leaving: Plan) -> Plan | None:
    """The plan a customer falls back to when a main plan of its group ends: the group's
    free plan that is enabled by default, if it has one."""
    if leaving.add_on or leaving.one_off:
        return None
    for plan in plans:
        if plan.archived or plan.add_on or not plan.auto_enable or not plan.free:
            continue
        if (plan.group or "") == (leaving.group or "") and plan.id != leaving.id:
            return plan
    return None


def _ms(seconds: int | None) -> int | None:
    return None if seconds is None else seconds * 1000


def switched_in_stripe(
    held_plan: Plan, versions: Iterable[Plan], stripe_sub: StripeSubscription
) -> Plan | None:
    """The plan of the held plan's group that the Stripe subscription now bills instead of
    it (its items switched to that plan's prices in Stripe: the portal, the dashboard), the
    latest such version; None while it still bills the held plan, or bills no other plan
    of the group whole."""
    if sells(held_plan, stripe_sub) or held_plan.add_on or held_plan.one_off:
        return None
    found = [
        plan
        for plan in versions
        if plan.id != held_plan.id
        and not plan.add_on
        and not plan.one_off
        and (plan.group or "") == (held_plan.group or "")
        and sells(plan, stripe_sub)
    ]
    return max(found, key=lambda plan: plan.version) if found else None


def packages_billed(plan: Plan, stripe_sub: StripeSubscription) -> dict[str, Decimal]:
    """The prepaid packages the Stripe subscription bills for each of the plan's items."""
    mirror = plan.stripe
    if mirror is None:
        return {}
    billed = {item.price_id: item.quantity for item in stripe_sub.items}
    return {
        feature_id: Decimal(billed[price_id])
        for feature_id, price_id in mirror.item_price_ids.items()
        if price_id in billed
    }
