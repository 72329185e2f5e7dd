"""What a customer holds: subscriptions and purchases of plans, and the grants and flags
they bring. Pure: built from a plan version and a moment, summed into balances for answers.

These are NamedTuples, not pydantic models: check and track build them on every cold start,
where a model costs about 1 ms to define and a NamedTuple about 0.1 ms. They are only ever
made by our own code (the store checks what it reads back: `billing.store.holdings`)."""

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Literal, NamedTuple

from billing.domain.features import Feature
from billing.domain.schedule import next_reset_at
from billing.domain.terms import ItemPrice, Reset
from billing.numbers import ZERO

if TYPE_CHECKING:
    from billing.domain.plans import Plan


class Subscription(NamedTuple):
    """A plan held by a customer. One-off plans are held as purchases (`one_off`)."""

    id: str
    plan_id: str
    plan_version: int
    started_at: int
    one_off: bool = False
    status: Literal["active", "scheduled"] = "active"
    auto_enable: bool = False
    add_on: bool = False
    current_period_start: int | None = None
    current_period_end: int | None = None
    trial_ends_at: int | None = None
    canceled_at: int | None = None
    expires_at: int | None = None
    past_due: bool = False
    quantity: Decimal = Decimal(1)
    # The Stripe subscription that bills a paid plan, and its items billing this plan: every
    # sync and renewal finds the plan by them, never by price (another subscription may sell
    # the same price). None on free plans, and on plans granted before they were recorded.
    stripe_subscription_id: str | None = None
    stripe_item_ids: tuple[str, ...] = ()
    # The purchase that granted it (None for a plan given without one: a default plan, one
    # enabled by hand, one granted before purchases were recorded on it): the purchase's
    # lifecycle follows what becomes of this subscription.
    purchase_id: str | None = None


class Grant(NamedTuple):
    """An allowance of one metered feature or credit system, from a plan item (or by hand)."""

    id: str
    feature_id: str
    plan_id: str | None
    included: Decimal
    anchor_at: int
    prepaid: Decimal = Decimal(0)
    unlimited: bool = False
    usage: Decimal = Decimal(0)
    reset: Reset | None = None
    next_reset_at: int | None = None
    expires_at: int | None = None
    price: ItemPrice | None = None

    @property
    def granted(self) -> Decimal:
        """The allowance: what a use may take before it is overage or purchased."""
        return self.included + self.prepaid

    @property
    def overage_allowed(self) -> bool:
        return self.price is not None and self.price.billing_method == "usage_based"

    @property
    def purchased(self) -> Decimal:
        """Usage past the allowance that is not overage: seats used beyond the grant, or
        usage set above it by hand. It is counted as bought, so remaining stays at 0."""
        if self.unlimited or self.overage_allowed:
            return ZERO
        return max(ZERO, self.usage - self.granted)

    @property
    def remaining(self) -> Decimal:
        """Below 0 only for overage; an unlimited grant never runs down."""
        if self.unlimited:
            return ZERO
        return self.granted + self.purchased - self.usage


class Flag(NamedTuple):
    """Access to a boolean feature, from a plan."""

    id: str
    feature_id: str
    plan_id: str | None
    expires_at: int | None = None


class Holdings(NamedTuple):
    subscriptions: tuple[Subscription, ...] = ()
    grants: tuple[Grant, ...] = ()
    flags: tuple[Flag, ...] = ()


def combined(parts: Iterable[Holdings]) -> "Holdings":
    """Everything the parts hold, in their order."""
    subscriptions: list[Subscription] = []
    grants: list[Grant] = []
    flags: list[Flag] = []
    for part in parts:
        subscriptions.extend(part.subscriptions)
        grants.extend(part.grants)
        flags.extend(part.flags)
    return Holdings(tuple(subscriptions), tuple(grants), tuple(flags))


def holdings_of(
    plan: "Plan",
    features: Mapping[str, Feature],
    now_ms: int,
    new_id: Callable[[str], str],
    auto_enabled: bool = False,
) -> "Holdings":
    """What a customer holds once given `plan` at `now_ms` (a free plan, granted at once)."""
    trial_ends_at = _trial_end(plan, now_ms)
    subscription = Subscription(
        id=new_id("sub"),
        plan_id=plan.id,
        plan_version=plan.version,
        one_off=plan.one_off,
        auto_enable=auto_enabled,
        add_on=plan.add_on,
        started_at=now_ms,
        trial_ends_at=trial_ends_at,
    )
    grants: list[Grant] = []
    flags: list[Flag] = []
    for item in plan.terms.items:
        if features[item.feature_id].type == "boolean":
            flags.append(Flag(id=new_id("cus_ent"), feature_id=item.feature_id, plan_id=plan.id))
            continue
        anchor, first = first_reset(now_ms, item.reset, trial_ends_at)
        grants.append(
            Grant(
                id=new_id("cus_ent"),
                feature_id=item.feature_id,
                plan_id=plan.id,
                included=item.included,
                unlimited=item.unlimited,
                reset=item.reset,
                anchor_at=anchor,
                next_reset_at=first,
                price=item.price,
            )
        )
    return Holdings(subscriptions=(subscription,), grants=tuple(grants), flags=tuple(flags))


# Resets on calendar periods: counted from the trial's end when given during a trial.
_CALENDAR_RESETS = frozenset({"month", "quarter", "semi_annual", "year"})


def first_reset(
    now_ms: int, reset: Reset | None, trial_ends_at: int | None
) -> tuple[int, int | None]:
    """A new grant's anchor (its resets are counted from it) and its first reset. Given
    during a trial, an allowance reset monthly or less often starts its periods when the
    trial ends, as the plan's billing does (Autumn aligns them so): its first reset is the
    trial's end."""
    if (
        trial_ends_at is not None
        and trial_ends_at > now_ms
        and reset is not None
        and reset.interval in _CALENDAR_RESETS
    ):
        return trial_ends_at, trial_ends_at
    return now_ms, next_reset_at(now_ms, reset, now_ms)


def _trial_end(plan: "Plan", now_ms: int) -> int | None:
    """A free default plan with a trial starts its customers trialing."""
    trial = plan.terms.free_trial
    if trial is None:
        return None
    length = Reset(interval=trial.duration_type, interval_count=trial.duration_length)
    return next_reset_at(now_ms, length, now_ms)


def default_plans(plans: "Iterable[Plan]", chosen: str | None) -> "list[Plan]":
    """The plans a new customer starts with: the one asked for, else every auto-enable plan."""
    live = [p for p in plans if not p.archived]
    if chosen is not None:
        return [p for p in live if p.id == chosen]
    return [p for p in live if p.auto_enable]


class FeatureBalance(NamedTuple):
    """A feature's grants summed: what `balances` reports and `check` decides on. Granted
    counts what was purchased past the grants, so remaining + usage == granted."""

    feature_id: str
    granted: Decimal
    usage: Decimal
    remaining: Decimal
    unlimited: bool
    overage_allowed: bool
    max_purchase: Decimal | None
    next_reset_at: int | None
    grants: tuple[Grant, ...]


def balances(grants: Iterable[Grant]) -> dict[str, FeatureBalance]:
    by_feature: dict[str, list[Grant]] = {}
    for grant in grants:
        by_feature.setdefault(grant.feature_id, []).append(grant)
    summary = {}
    for feature_id, held in by_feature.items():
        resets = [g.next_reset_at for g in held if g.next_reset_at is not None]
        limits = [g.price.max_purchase for g in held if g.price and g.price.max_purchase]
        summary[feature_id] = FeatureBalance(
            feature_id=feature_id,
            granted=sum((g.granted + g.purchased for g in held), ZERO),
            usage=sum((g.usage for g in held), ZERO),
            remaining=sum((g.remaining for g in held), ZERO),
            unlimited=any(g.unlimited for g in held),
            overage_allowed=any(g.overage_allowed for g in held),
            max_purchase=limits[0] if limits else None,
            next_reset_at=min(resets) if resets else None,
            grants=tuple(held),
        )
    return summary
