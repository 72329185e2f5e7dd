"""The billing invariants' rules (I1-I6, described in `domain.audit`): where a customer's
holdings and its Stripe subscriptions disagree. Pure rules, no I/O."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from decimal import Decimal

from billing.domain.audit import CustomerFacts, Drift, active_plans, drift, is_live
from billing.domain.holdings import Subscription, balances
from billing.domain.plans import Plan
from billing.domain.stacks import stack_billed
from billing.domain.stripe_subscriptions import StripeSubscription
from billing.domain.stripe_sync import plan_price_ids


def drifts_of(facts: CustomerFacts) -> list[Drift]:
    """Every invariant the customer's holdings and its Stripe subscriptions break."""
    return [
        *_one_main_plan_per_group(facts),
        *_billing(facts),
        *_balances(facts),
        *_scheduled(facts),
    ]


def _one_main_plan_per_group(facts: CustomerFacts) -> list[Drift]:
    by_group: dict[str, list[Subscription]] = {}
    for sub in active_plans(facts):
        plan = facts.held_plans.get(sub.id)
        if sub.one_off or sub.add_on or (plan is not None and plan.add_on):
            continue
        group = (plan.group if plan is not None else None) or ""
        by_group.setdefault(group, []).append(sub)
    return [
        drift(
            facts,
            "I1",
            f"{len(subs)} active main plans in group '{group}': "
            + ", ".join(f"{s.plan_id} v{s.plan_version} ({s.id})" for s in subs),
            plan_id=subs[0].plan_id,
        )
        for group, subs in by_group.items()
        if len(subs) > 1
    ]


def _paid_recurring(facts: CustomerFacts) -> list[tuple[Subscription, Plan]]:
    """The active held plans Stripe must bill: recurring and not free."""
    held = []
    for sub in active_plans(facts):
        plan = facts.held_plans.get(sub.id)
        if plan is not None and not sub.one_off and not plan.free:
            held.append((sub, plan))
    return held


def _billing_of(
    sub: Subscription, plan: Plan, subscriptions: Sequence[StripeSubscription]
) -> list[StripeSubscription]:
    """The subscriptions among `subscriptions` that bill the held plan (see above)."""
    prices = plan_price_ids(plan)
    recorded = sub.stripe_subscription_id
    return [
        s for s in subscriptions if prices & s.price_ids and (recorded is None or s.id == recorded)
    ]


def _billing(facts: CustomerFacts) -> list[Drift]:
    """I2, I3 and I4: held paid plans and live Stripe subscriptions, one to one."""
    drifts: list[Drift] = []
    live = [s for s in facts.stripe_subscriptions if is_live(s)]
    paid = _paid_recurring(facts)
    billed_by: dict[str, list[str]] = {}  # Stripe subscription id -> held subscription ids
    for sub, plan in paid:
        billing = _billing_of(sub, plan, live)
        for stripe_sub in billing:
            billed_by.setdefault(stripe_sub.id, []).append(sub.id)
        if not billing:
            others = [
                f"{s.id} ({s.status})" for s in _billing_of(sub, plan, facts.stripe_subscriptions)
            ]
            drifts.append(
                drift(
                    facts,
                    "I2",
                    f"holds paid plan {sub.plan_id} v{sub.plan_version} ({sub.id}) and no live "
                    "Stripe subscription bills it"
                    + (f"; not live: {', '.join(others)}" if others else ""),
                    plan_id=sub.plan_id,
                )
            )
        elif len(billing) > 1:
            drifts.append(
                drift(
                    facts,
                    "I4",
                    f"plan {sub.plan_id} v{sub.plan_version} ({sub.id}) is billed by "
                    f"{len(billing)} live Stripe subscriptions: "
                    + ", ".join(s.id for s in billing),
                    plan_id=sub.plan_id,
                    stripe_subscription_id=billing[1].id,
                )
            )
    for stripe_sub in live:
        held_ids = billed_by.get(stripe_sub.id, [])
        if not held_ids and not stripe_sub.awaiting_first_invoice:
            drifts.append(
                drift(
                    facts,
                    "I3",
                    f"live Stripe subscription {stripe_sub.id} ({stripe_sub.status}, prices "
                    f"{', '.join(sorted(stripe_sub.price_ids))}) bills no plan the customer holds",
                    stripe_subscription_id=stripe_sub.id,
                )
            )
        elif len(held_ids) > 1:
            drifts.append(
                drift(
                    facts,
                    "I4",
                    f"live Stripe subscription {stripe_sub.id} bills {len(held_ids)} held "
                    f"plans: {', '.join(held_ids)}",
                    stripe_subscription_id=stripe_sub.id,
                )
            )
    return drifts


def _balances(facts: CustomerFacts) -> list[Drift]:
    """I5: the sums add up, and every grant comes from something held."""
    drifts: list[Drift] = []
    holdings = facts.customer.holdings
    for feature_id, balance in balances(holdings.grants).items():
        if balance.unlimited:
            continue  # an unlimited balance reports no remaining to add up
        if balance.remaining + balance.usage != balance.granted:
            drifts.append(
                drift(
                    facts,
                    "I5",
                    f"balance {feature_id}: remaining {balance.remaining} + usage "
                    f"{balance.usage} != granted {balance.granted}",
                )
            )
    active = active_plans(facts)
    held_plan_ids = {s.plan_id for s in active}
    expected: Counter[tuple[str, str]] = Counter()
    for sub in active:
        plan = facts.held_plans.get(sub.id)
        if plan is None:
            continue
        for item in plan.terms.items:
            expected[(plan.id, item.feature_id)] += 1
    granted: Counter[tuple[str, str]] = Counter(
        (g.plan_id, g.feature_id) for g in holdings.grants if g.plan_id is not None
    )
    for (plan_id, feature_id), count in sorted(granted.items()):
        if plan_id not in held_plan_ids:
            drifts.append(
                drift(
                    facts,
                    "I5",
                    f"{count} grant(s) of {feature_id} from plan {plan_id}, which the customer "
                    "does not hold",
                    plan_id=plan_id,
                )
            )
        elif count > expected[(plan_id, feature_id)]:
            drifts.append(
                drift(
                    facts,
                    "I5",
                    f"{count} grants of {feature_id} from plan {plan_id}, whose held "
                    f"subscriptions bring {expected[(plan_id, feature_id)]}",
                    plan_id=plan_id,
                )
            )
    drifts.extend(_prepaid(facts))
    drifts.extend(_stacked(facts))
    return drifts


def _stacked(facts: CustomerFacts) -> list[Drift]:
    """A stackable add-on is held as many times as its Stripe subscription bills its price;
    any other paid plan is held once (its allowances are the plan's own)."""
    drifts: list[Drift] = []
    live = [s for s in facts.stripe_subscriptions if is_live(s)]
    for sub, plan in _paid_recurring(facts):
        billing = _billing_of(sub, plan, live)
        if len(billing) != 1:
            continue  # no single subscription to compare with: I2 or I4 says so
        billed = stack_billed(plan, billing[0])
        want = Decimal(1) if billed is None else billed
        if sub.quantity != want:
            drifts.append(
                drift(
                    facts,
                    "I5",
                    f"plan {plan.id} ({sub.id}) held {sub.quantity} times, Stripe "
                    f"subscription {billing[0].id} bills it {want} times",
                    plan_id=plan.id,
                    stripe_subscription_id=billing[0].id,
                )
            )
    return drifts


def _prepaid(facts: CustomerFacts) -> list[Drift]:
    """A prepaid grant holds the packages its plan's live Stripe subscription bills."""
    drifts: list[Drift] = []
    live = [s for s in facts.stripe_subscriptions if is_live(s)]
    for sub, plan in _paid_recurring(facts):
        mirror = plan.stripe
        billing = _billing_of(sub, plan, live)
        if mirror is None or len(billing) != 1:
            continue  # no single subscription to compare with: I2 or I4 says so
        billed = {item.price_id: item.quantity for item in billing[0].items}
        for item in plan.terms.items:
            price = item.price
            if price is None or price.billing_method != "prepaid":
                continue
            packages = billed.get(mirror.item_price_ids.get(item.feature_id, ""))
            if packages is None:
                continue
            want = Decimal(packages) * price.billing_units
            drifts.extend(
                drift(
                    facts,
                    "I5",
                    f"prepaid {item.feature_id} of plan {plan.id}: holds {grant.prepaid}, "
                    f"Stripe subscription {billing[0].id} bills {packages} package(s) = {want}",
                    plan_id=plan.id,
                    stripe_subscription_id=billing[0].id,
                )
                for grant in facts.customer.holdings.grants
                if grant.plan_id == plan.id
                and grant.feature_id == item.feature_id
                and grant.prepaid != want
            )
    return drifts


def _scheduled(facts: CustomerFacts) -> list[Drift]:
    """I6, both ways: what is shown as scheduled (or ending) and what Stripe will do."""
    drifts: list[Drift] = []
    live = [s for s in facts.stripe_subscriptions if is_live(s)]
    shown = [s for s in facts.customer.holdings.subscriptions if s.status == "scheduled"]
    brought: set[str] = set()  # Stripe subscription ids whose change is shown
    for sub in shown:
        plan = facts.held_plans.get(sub.id)
        bringer = next((s for s in live if plan is not None and _brings(s, plan)), None)
        switch = None if bringer is None else facts.switches.get(bringer.id)
        if bringer is None:
            drifts.append(
                drift(
                    facts,
                    "I6",
                    f"plan {sub.plan_id} v{sub.plan_version} ({sub.id}) is shown as scheduled "
                    "and no live Stripe subscription switches to it at its period end",
                    plan_id=sub.plan_id,
                )
            )
            continue
        brought.add(bringer.id)
        if switch is None or not switch.pending or switch.plan_id != sub.plan_id:
            kept = "none" if switch is None else f"{switch.purchase_id} for {switch.plan_id}"
            drifts.append(
                drift(
                    facts,
                    "I6",
                    f"plan {sub.plan_id} ({sub.id}) is scheduled on Stripe subscription "
                    f"{bringer.id}, but the switch kept for it is {kept}"
                    + ("" if switch is None or switch.pending else " (already granted)"),
                    plan_id=sub.plan_id,
                    stripe_subscription_id=bringer.id,
                )
            )
    for stripe_sub in live:
        if stripe_sub.upcoming_phases and stripe_sub.id not in brought:
            drifts.append(
                drift(
                    facts,
                    "I6",
                    f"Stripe subscription {stripe_sub.id} switches to prices "
                    + ", ".join(sorted(stripe_sub.upcoming_phases[0].price_ids))
                    + " at its period end, and no plan is shown as scheduled for it",
                    stripe_subscription_id=stripe_sub.id,
                )
            )
    drifts.extend(_ends(facts, live))
    return drifts


def _brings(stripe_sub: StripeSubscription, plan: Plan) -> bool:
    """Whether Stripe moves this subscription to `plan` at its period end."""
    if plan.free:
        return stripe_sub.canceling
    prices = plan_price_ids(plan)
    return any(prices & phase.price_ids for phase in stripe_sub.upcoming_phases)


def _ends(facts: CustomerFacts, live: list[StripeSubscription]) -> list[Drift]:
    """A held paid plan shows an end exactly when its Stripe subscription is set to end."""
    drifts: list[Drift] = []
    for sub, plan in _paid_recurring(facts):
        billing = _billing_of(sub, plan, live)
        if len(billing) != 1:
            continue  # I2 or I4 says so
        stripe_sub = billing[0]
        # Set to end, or to switch to another plan at the period end (a downgrade scheduled
        # shows the plan held ending then, as Autumn does).
        ends = stripe_sub.canceling or any(
            phase.price_ids - plan_price_ids(plan) for phase in stripe_sub.upcoming_phases
        )
        if (sub.canceled_at is not None) == ends:
            continue
        found = (
            f"plan {sub.plan_id} ({sub.id}) shows it ends, and Stripe subscription "
            f"{stripe_sub.id} is not set to end"
            if sub.canceled_at is not None
            else f"Stripe subscription {stripe_sub.id} ends or switches plans at its period "
            f"end, and plan "
            f"{sub.plan_id} ({sub.id}) shows no end"
        )
        drifts.append(
            drift(facts, "I6", found, plan_id=sub.plan_id, stripe_subscription_id=stripe_sub.id)
        )
    return drifts
