"""A recurring add-on bought again is held stacked, as Autumn stacks it: one subscription
of it, held as many times as its Stripe subscription bills its price (Stripe's quantity),
with the plan's allowances that many times. Pure rules, no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from billing.domain.holdings import Grant, Subscription
from billing.domain.plans import Plan
from billing.domain.stripe_subscriptions import StripeSubscription


def stackable(plan: Plan) -> bool:
    """A recurring add-on bought again adds one more of it: its Stripe subscription bills its
    price at the quantity held, and its allowances are the plan's times that quantity. Only
    for add-ons whose price says how many are held (a base price) and whose items have no
    prepaid quantity of their own (those would need their own items per stack)."""
    return (
        plan.add_on
        and not plan.one_off
        and plan.stripe is not None
        and plan.stripe.base_price_id is not None
        and all(i.price is None or i.price.billing_method != "prepaid" for i in plan.terms.items)
    )


def can_stack(sub: Subscription, plan: Plan) -> bool:
    """One more can be added now: the same version, billed by a Stripe subscription that is
    paid up and out of its trial (a trial's stack would be free until it ends)."""
    return (
        sub.status == "active"
        and sub.plan_version == plan.version
        and sub.stripe_subscription_id is not None
        and sub.trial_ends_at is None
        and not sub.past_due
    )


def stack_billed(plan: Plan, stripe_sub: StripeSubscription) -> Decimal | None:
    """How many of a stackable add-on (`stackable`) the Stripe subscription bills:
    its base price's quantity. None for other plans, or if it bills no base price."""
    if not stackable(plan) or plan.stripe is None:
        return None
    billed = [i.quantity for i in stripe_sub.items if i.price_id == plan.stripe.base_price_id]
    return Decimal(billed[0]) if billed and billed[0] > 0 else None


def stacks_synced(
    grants: Iterable[Grant], plan: Plan, held: Subscription, after: Subscription
) -> list[tuple[Grant, Grant]]:
    """The plan's grants as they become when the number of the add-on held changes from
    `held.quantity` to `after.quantity`: each allowance grows (or shrinks) by the plan's own
    allowance per one added (or removed), so a balance changed by hand keeps its change."""
    added = after.quantity - held.quantity
    if not added:
        return []
    per_one = {item.feature_id: item.included for item in plan.terms.items}
    return [
        (
            grant,
            grant._replace(
                included=max(Decimal(0), grant.included + per_one[grant.feature_id] * added)
            ),
        )
        for grant in grants
        if grant.plan_id == plan.id and grant.feature_id in per_one and not grant.unlimited
    ]
