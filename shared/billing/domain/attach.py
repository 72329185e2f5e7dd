"""What `billing.attach` does with a plan: pure decisions, no I/O.

Given what the customer holds, the plan asked for, whether a usable card is on file and the
caller's options, `decide` says what kind of change it is (new, upgrade, downgrade, add-on,
one-off), when it takes effect and how it is paid for:

- `grant`: nothing to pay (a free plan, or a free move at once): granted now, no Stripe;
- `checkout`: a Stripe Checkout Session collects the card; granted once Stripe says paid;
- `charge`: the card on file pays a subscription or an invoice now; granted once paid;
- `schedule`: a change at the period end (a downgrade): nothing is paid now; the paid
  subscription switches plans when its period ends;
- `card_required`: a card is needed and the caller asked for no redirect (`redirect_mode:
  never`): nothing happens.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from billing.domain.errors import InvalidRequest, PlanAlreadyAttached
from billing.domain.features import Feature
from billing.domain.holdings import Flag, Grant, Holdings, Subscription, first_reset
from billing.domain.plans import FreeTrial, Plan
from billing.domain.quantities import carried_quantities, prepaid_packages
from billing.domain.schedule import next_reset_at
from billing.domain.stacks import can_stack, stackable
from billing.domain.terms import Reset

AttachKind = Literal["new", "upgrade", "downgrade", "add_on", "one_off"]
Flow = Literal["grant", "checkout", "charge", "schedule", "card_required", "invoice"]
# Paid by an invoice Stripe sends (`invoice_mode`): granted once it is paid, or at once.
INVOICE_FLOW: Flow = "invoice"
RedirectMode = Literal["always", "if_required", "never"]
PlanSchedule = Literal["immediate", "end_of_cycle"]
Starts = Literal["now", "period_end"]

# Months in one billing interval, to compare plans billed on different cadences.
_MONTHS = {"month": 1, "quarter": 3, "semi_annual": 6, "year": 12}


# How a plan change is prorated, in Autumn's words (the Stripe seam maps them to Stripe's).
ProrationBehavior = Literal["prorate_immediately", "bill_difference", "none"]


@dataclass(frozen=True)
class AttachOptions:
    redirect_mode: RedirectMode = "if_required"
    plan_schedule: PlanSchedule | None = None
    # Replaces the plan's own trial when given; `no_trial` drops the plan's trial.
    free_trial: FreeTrial | None = None
    no_trial: bool = False
    # feature id -> units wanted of a prepaid item, its included units counted in.
    feature_quantities: Mapping[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class AttachDecision:
    kind: AttachKind
    flow: Flow
    starts: Starts
    # The plan of the same group the customer leaves (upgrade or downgrade).
    replaces: Subscription | None
    trial: FreeTrial | None
    # feature id -> packages of billing units bought up front (Stripe's quantity).
    packages: Mapping[str, Decimal]
    # The recurring add-on held already that this attach buys one more of (as Autumn
    # stacks a re-attached add-on): its Stripe subscription bills one more of its price.
    stacks: Subscription | None = None


def decide(
    plan: Plan,
    held: Holdings,
    held_plans: Mapping[str, Plan],
    has_card: bool,
    options: AttachOptions,
) -> AttachDecision:
    """`held_plans` maps each held subscription's id to the plan version it holds."""
    if plan.archived:
        raise InvalidRequest(
            "This plan is archived: it is kept for those who hold it, not sold any more.",
            details=[{"field": "plan_id", "message": "the plan is archived"}],
        )
    stacks = _held_again(plan, held)
    packages = prepaid_packages(plan, options.feature_quantities)
    if stacks is not None:
        return _stack(stacks, options)
    trial = None if options.no_trial else _trial(plan, options.free_trial)
    if plan.one_off:
        kind: AttachKind = "one_off"
        replaces = None
    elif plan.add_on:
        kind, replaces = "add_on", None
    else:
        replaces = current_in_group(plan, held, held_plans)
        if replaces is None:
            kind = "new"
        elif is_upgrade(held_plans[replaces.id], plan):
            kind = "upgrade"
        else:
            kind = "downgrade"
        if replaces is not None:
            leaving = held_plans[replaces.id]
            carried = carried_quantities(plan, held, leaving, replaces, options.feature_quantities)
            if carried:
                packages = prepaid_packages(plan, {**carried, **options.feature_quantities})
    starts: Starts = "period_end" if kind == "downgrade" else "now"
    if replaces is not None and options.plan_schedule is not None:
        starts = "now" if options.plan_schedule == "immediate" else "period_end"
    leaving_paid = replaces is not None and not held_plans[replaces.id].free
    if starts == "period_end" and leaving_paid:
        flow: Flow = "schedule"
    else:
        starts = "now"  # a free plan has no period to wait for the end of
        flow = _flow(plan, trial, has_card, options.redirect_mode, leaving_paid)
        if flow in ("checkout", "card_required") and _nothing_to_pay(plan, packages):
            # Prepaid items alone, none bought: Stripe bills $0, no card is needed (and a
            # checkout takes no item at quantity 0).
            flow = "charge"
    return AttachDecision(
        kind=kind,
        flow=flow,
        starts=starts,
        replaces=replaces,
        trial=trial,
        packages=packages,
    )


def _held_again(plan: Plan, held: Holdings) -> Subscription | None:
    """The held subscription of `plan` that an attach of it again stacks on (a recurring
    add-on, see `stackable`); else None when the plan is not held. A recurring plan is held
    once otherwise; a one-off plan (a top-up) may be bought again. As in Autumn, a plan held
    that is set to end at its period end (cancelled, or a downgrade scheduled) is refused
    too: billing.update `uncancel` renews it."""
    if plan.one_off:
        return None
    for sub in held.subscriptions:
        if sub.plan_id != plan.id or sub.one_off:
            continue
        if sub.status == "active" and sub.canceled_at is not None:
            raise PlanAlreadyAttached(
                f"The customer already has the plan '{plan.id}', set to end at its period "
                "end: renew it with billing.update and cancel_action 'uncancel'."
            )
        if stackable(plan) and can_stack(sub, plan):
            return sub
        raise PlanAlreadyAttached(f"The customer already has the plan '{plan.id}'.")
    return None


def _stack(held: Subscription, options: AttachOptions) -> AttachDecision:
    """One more of a held add-on: charged now (prorated to its period's end) on the Stripe
    subscription that bills it, with that subscription's own card, and granted once paid."""
    if options.free_trial is not None:
        raise InvalidRequest(
            "The add-on is held already: another one of it is paid from now, without a trial.",
            details=[{"field": "free_trial", "message": "the add-on is held already"}],
        )
    return AttachDecision(
        kind="add_on",
        flow="charge",
        starts="now",
        replaces=None,
        trial=None,
        packages={},
        stacks=held,
    )


def current_in_group(
    plan: Plan, held: Holdings, held_plans: Mapping[str, Plan]
) -> Subscription | None:
    """The active main plan of the plan's group, which attaching `plan` replaces."""
    for sub in held.subscriptions:
        current = held_plans.get(sub.id)
        if current is None or sub.one_off or sub.add_on or sub.status != "active":
            continue
        if (current.group or "") == (plan.group or ""):
            return sub
    return None


def is_upgrade(current: Plan, wanted: Plan) -> bool:
    """Moving to a longer billing interval (monthly to annual, whatever the price per month,
    as Autumn decides it: the customer commits to more) or to a dearer plan per month is an
    upgrade; anything else is a downgrade. Leaving a free plan is always an upgrade."""
    if current.free:
        return True
    if _months(wanted) > _months(current) > 0:
        return True
    before, after = monthly_price(current), monthly_price(wanted)
    if after != before:
        return after > before
    return _months(wanted) > _months(current)


def monthly_price(plan: Plan) -> Decimal:
    price = plan.terms.price
    if price is None or plan.one_off:
        return Decimal(0)
    return price.amount / (_months(plan) or 1)


def _months(plan: Plan) -> int:
    price = plan.terms.price
    count = price.interval_count if price is not None else 1
    return _MONTHS.get(plan.interval or "", 0) * count


def _trial(plan: Plan, asked: FreeTrial | None) -> FreeTrial | None:
    """A trial is for a paid recurring plan (a free plan has nothing to try out)."""
    trial = asked if asked is not None else plan.terms.free_trial
    if trial is None or plan.one_off or plan.free:
        return None
    if trial.duration_length < 1:
        raise InvalidRequest(
            "A free trial lasts at least one day, month or year.",
            details=[{"field": "free_trial.duration_length", "message": "must be 1 or more"}],
        )
    return trial


def _flow(
    plan: Plan,
    trial: FreeTrial | None,
    has_card: bool,
    redirect_mode: RedirectMode,
    leaving_paid: bool,
) -> Flow:
    if plan.free and not leaving_paid:
        return "grant"
    if trial is not None and not trial.card_required:
        # Nothing is due before the trial ends: Stripe bills the card added by then.
        return "charge"
    if redirect_mode == "always" and not leaving_paid:
        return "checkout"
    if has_card or leaving_paid:
        # A paid subscription is already in Stripe: its own card pays the change.
        return "charge"
    return "card_required" if redirect_mode == "never" else "checkout"


def _nothing_to_pay(plan: Plan, packages: Mapping[str, Decimal]) -> bool:
    """A recurring plan whose only prices are prepaid items, none of them bought."""
    base = plan.terms.price
    return (
        not plan.one_off
        and (base is None or base.amount == 0)
        and all(i.price is None or i.price.billing_method == "prepaid" for i in plan.terms.items)
        and not any(packages.values())
    )


def trial_end(trial: FreeTrial | None, now_ms: int) -> int | None:
    if trial is None:
        return None
    length = Reset(interval=trial.duration_type, interval_count=trial.duration_length)
    ends = next_reset_at(now_ms, length, now_ms)
    # In whole seconds, as Stripe keeps it: the grants' first reset is Stripe's trial end.
    return None if ends is None else ends // 1000 * 1000


def purchased_holdings(
    plan: Plan,
    features: Mapping[str, Feature],
    packages: Mapping[str, Decimal],
    now_ms: int,
    new_id: Callable[[str], str],
    trial_ends_at: int | None = None,
) -> Holdings:
    """What a customer holds once a purchase of `plan` is paid: its subscription (or, for a
    one-off plan, its purchase), a grant per metered item with the prepaid units bought,
    and a flag per boolean item."""
    period_end = next_reset_at(now_ms, billing_period(plan), now_ms)
    subscription = Subscription(
        id=new_id("sub"),
        plan_id=plan.id,
        plan_version=plan.version,
        one_off=plan.one_off,
        add_on=plan.add_on,
        started_at=now_ms,
        current_period_start=None if plan.one_off else now_ms,
        current_period_end=period_end,
        trial_ends_at=trial_ends_at,
    )
    grants: list[Grant] = []
    flags: list[Flag] = []
    for item in plan.terms.items:
        if features[item.feature_id].type == "boolean":
            flags.append(Flag(id=new_id("cus_ent"), feature_id=item.feature_id, plan_id=plan.id))
            continue
        units = item.price.billing_units if item.price is not None else Decimal(1)
        # Usage billed in arrears is reset by its period's close (once billed), never lazily:
        # a lazy reset could wipe the usage before the renewal's invoice bills it.
        in_arrears = (
            not plan.one_off
            and item.price is not None
            and item.price.billing_method == "usage_based"
        )
        anchor, first = first_reset(now_ms, item.reset, trial_ends_at)
        grants.append(
            Grant(
                id=new_id("cus_ent"),
                feature_id=item.feature_id,
                plan_id=plan.id,
                included=item.included,
                prepaid=packages.get(item.feature_id, Decimal(0)) * units,
                unlimited=item.unlimited,
                reset=item.reset,
                anchor_at=anchor,
                next_reset_at=None if in_arrears else first,
                price=item.price,
            )
        )
    return Holdings(subscriptions=(subscription,), grants=tuple(grants), flags=tuple(flags))


def billing_period(plan: Plan) -> Reset | None:
    interval = plan.interval
    if interval is None or interval == "one_off":
        return None
    count = plan.terms.price.interval_count if plan.terms.price is not None else 1
    return Reset(interval=interval, interval_count=count)


def scheduled(plan: Plan, subscription_id: str, starts_at: int) -> Holdings:
    """A plan the customer moves to at the period end, shown as scheduled until then: it
    grants nothing before it starts."""
    return Holdings(
        subscriptions=(
            Subscription(
                id=subscription_id,
                plan_id=plan.id,
                plan_version=plan.version,
                status="scheduled",
                add_on=plan.add_on,
                started_at=starts_at,
            ),
        )
    )


def seats_kept(added: Holdings, left: Holdings, features: Mapping[str, Feature]) -> Holdings:
    """The grants of a plan switched to, with the continuous-use features (seats) still in
    use on the plan left: as in Autumn, the 2 seats taken stay taken (a used-up feature,
    such as messages, starts afresh on the new plan)."""
    in_use: dict[str, Decimal] = {}
    for grant in left.grants:
        feature = features.get(grant.feature_id)
        if feature is not None and not feature.consumable:
            in_use[grant.feature_id] = in_use.get(grant.feature_id, Decimal(0)) + grant.usage
    grants = tuple(
        g._replace(usage=in_use[g.feature_id]) if g.feature_id in in_use else g
        for g in added.grants
    )
    return added._replace(grants=grants)


def left_behind(held: Holdings, leaving: Subscription) -> Holdings:
    """The subscription a customer leaves, with the grants and flags its plan gave."""
    return Holdings(
        subscriptions=(leaving,),
        grants=tuple(g for g in held.grants if g.plan_id == leaving.plan_id),
        flags=tuple(f for f in held.flags if f.plan_id == leaving.plan_id),
    )
