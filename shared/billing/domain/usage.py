"""Using a feature: which grants pay for it, in which order, and what each one gives.

Pure. A deduction is computed against the grants as read, after applying any reset that
fell due since (resets are lazy: nothing runs at the reset time, the next read or write
applies it). The store then writes it with conditions that make it exact under concurrency.
"""

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Literal, NamedTuple

from billing.domain.features import Feature
from billing.domain.holdings import Grant
from billing.domain.schedule import next_reset_at
from billing.numbers import ONE, ZERO

OverageBehavior = Literal["cap", "overflow"]

# Shorter reset intervals are used before longer ones; a grant that never resets goes last.
_INTERVAL_RANK = {
    "hour": 0,
    "day": 1,
    "week": 2,
    "month": 3,
    "quarter": 4,
    "semi_annual": 5,
    "year": 6,
    "one_off": 7,
}
_NEVER = 8
_FOREVER = 2**63


class GrantChange(NamedTuple):
    """One grant's part in a deduction: its usage before and after, and a reset applied."""

    grant: Grant
    usage_before: Decimal
    usage_after: Decimal
    # Set when the grant's reset fell due: the write must apply it exactly once.
    reset_from: int | None = None

    @property
    def value(self) -> Decimal:
        return self.usage_after - (ZERO if self.reset_from is not None else self.usage_before)


class Deduction(NamedTuple):
    """What one balance (a feature's or a credit system's) gave towards a use."""

    feature_id: str
    requested: Decimal
    applied: Decimal
    changes: tuple[GrantChange, ...]


class Payer(NamedTuple):
    """A balance that pays for using a feature, with `cost` of its units per unit used."""

    feature_id: str
    cost: Decimal
    # A continuous-use feature (seats) records all of its use, past the grant too.
    continuous: bool = False


class Draw(NamedTuple):
    """A use of one feature, drawn from its payers in order (its own grants, then credits)."""

    feature_id: str
    deductions: tuple[Deduction, ...]
    covered: bool


def current(grant: Grant, now_ms: int) -> Grant:
    """The grant as it stands at `now_ms`: a reset that fell due since is applied."""
    if grant.next_reset_at is None or grant.next_reset_at > now_ms:
        return grant
    return grant._replace(
        usage=ZERO, next_reset_at=next_reset_at(grant.anchor_at, grant.reset, now_ms)
    )


def usable(grants: Iterable[Grant], now_ms: int) -> list[Grant]:
    """Live grants (expired ones dropped), reset as due, in deduction order: soonest expiry
    first, then shorter reset intervals before longer, grants that never reset last."""
    live = [current(g, now_ms) for g in grants if g.expires_at is None or g.expires_at > now_ms]
    return sorted(live, key=_priority)


def deduct(
    feature_id: str,
    grants: Iterable[Grant],
    value: Decimal,
    now_ms: int,
    all_or_nothing: bool = False,
    continuous: bool = False,
    past_balance: bool = True,
) -> "Deduction":
    """Takes `value` from the feature's grants in deduction order.

    Where overage is allowed (a grant with a usage-based price, billed in arrears) all of it
    is taken, under `cap` and `overflow` alike: the balance goes negative and the period's
    close bills it. Elsewhere a use takes what fits and stops at zero. `past_balance` False
    stops at zero everywhere (a payer that others follow). A `continuous` feature (seats)
    records all of it: what is past the grant counts as purchased. `all_or_nothing` (check with
    send_event) takes the whole value or nothing. A negative value gives units back, last
    used first.
    """
    before = list(grants)
    ordered = usable(before, now_ms)
    resets = {g.id: g.next_reset_at for g in before}
    usage = {g.id: g.usage for g in ordered}
    if value >= 0:
        applied = _take(ordered, usage, value, past_balance, all_or_nothing, continuous)
    else:
        applied = -_give_back(ordered, usage, -value)
    changes = tuple(
        GrantChange(
            grant=g,
            usage_before=_original_usage(before, g.id),
            usage_after=usage[g.id],
            reset_from=resets[g.id] if resets[g.id] != g.next_reset_at else None,
        )
        for g in ordered
        if usage[g.id] != g.usage or resets[g.id] != g.next_reset_at
    )
    return Deduction(feature_id=feature_id, requested=value, applied=applied, changes=changes)


def after_changes(grants: Iterable[Grant], deductions: Iterable[Deduction]) -> tuple[Grant, ...]:
    """The grants as the deductions leave them (a grant they reset is shown reset)."""
    changed = {c.grant.id: c for d in deductions for c in d.changes}
    return tuple(
        changed[g.id].grant._replace(usage=changed[g.id].usage_after) if g.id in changed else g
        for g in grants
    )


def paying_features(
    feature_id: str, features: Mapping[str, Feature], held: Iterable[Grant]
) -> list[Payer]:
    """Which balances pay for using `feature_id`, in order: the feature's own grants, then
    the first credit system held that prices it (so credits pay when the grant runs out)."""
    held_features = {g.feature_id for g in held}
    feature = features.get(feature_id)
    own = Payer(
        feature_id=feature_id,
        cost=ONE,
        continuous=feature is not None and feature.type == "metered" and not feature.consumable,
    )
    payers = [own] if feature_id in held_features else []
    credits = next(
        (
            Payer(feature_id=system.id, cost=entry.credit_cost)
            for system in features.values()
            if system.id in held_features and system.id != feature_id
            for entry in system.credit_schema
            if entry.metered_feature_id == feature_id
        ),
        None,
    )
    if credits is not None:
        payers.append(credits)
    return payers or [own]


def relevant_features(feature_id: str, features: Mapping[str, Feature]) -> list[str]:
    """A feature and every credit system that prices it (catalog order): what a use of it
    may draw on, so what an answer about that use shows."""
    return [feature_id] + [
        system.id
        for system in features.values()
        if system.id != feature_id
        and any(entry.metered_feature_id == feature_id for entry in system.credit_schema)
    ]


def draw(
    feature_id: str,
    payers: list[Payer],
    grants: Iterable[Grant],
    value: Decimal,
    now_ms: int,
    all_or_nothing: bool = False,
) -> "Draw":
    """Takes `value` of `feature_id` from its payers in order: each gives what it has, the
    last one also what may go past it (overage, or a continuous use). All or nothing takes
    the whole value from them together, or nothing from any."""
    held = list(grants)
    deductions: list[Deduction] = []
    left = value  # in units of the feature used
    for i, payer in enumerate(payers):
        last = i == len(payers) - 1
        own = [g for g in held if g.feature_id == payer.feature_id]
        asked = left * payer.cost
        deduction = deduct(
            payer.feature_id,
            own,
            asked,
            now_ms,
            all_or_nothing=False,
            continuous=payer.continuous and last and not all_or_nothing,
            # Overage goes on the last payer only: the credits that follow a feature's own
            # grant pay before anything is billed in arrears.
            past_balance=last,
        )
        deductions.append(deduction)
        if deduction.applied == asked:
            left = ZERO
            break
        # Only the first payers can fall short, and their cost is one unit per unit.
        left -= deduction.applied
    covered = left == ZERO or value < ZERO
    if all_or_nothing and not covered:
        deductions = [
            Deduction(feature_id=d.feature_id, requested=d.requested, applied=ZERO, changes=())
            for d in deductions
        ]
    return Draw(feature_id=feature_id, deductions=tuple(deductions), covered=covered)


def _take(
    ordered: list[Grant],
    usage: dict[str, Decimal],
    value: Decimal,
    past_balance: bool,
    all_or_nothing: bool,
    continuous: bool,
) -> Decimal:
    if any(g.unlimited for g in ordered):
        unlimited = next(g for g in ordered if g.unlimited)
        usage[unlimited.id] += value
        return value
    room = {g.id: max(ZERO, g.granted - usage[g.id]) for g in ordered}
    fits = sum(room.values(), ZERO)
    # A use stops at zero only where nothing bills past it: a usage-based price takes the
    # rest as overage whatever the caller's overage_behavior, as Autumn deducts it.
    spill_to = _overage_grant(ordered) if past_balance else None
    if spill_to is None and continuous and ordered:
        spill_to = ordered[-1]  # past the grant: purchased
    if all_or_nothing and fits < value and spill_to is None:
        return ZERO
    left = value
    for grant in ordered:
        take = min(room[grant.id], left)
        usage[grant.id] += take
        left -= take
    if left > 0 and spill_to is not None:
        usage[spill_to.id] += left
        left = ZERO
    return value - left


def _give_back(ordered: list[Grant], usage: dict[str, Decimal], value: Decimal) -> Decimal:
    left = value
    for grant in reversed(ordered):
        give = min(max(ZERO, usage[grant.id]), left)
        usage[grant.id] -= give
        left -= give
    return value - left


def _overage_grant(ordered: list[Grant]) -> Grant | None:
    """Where usage beyond the balance goes: the grant with a usage-based price."""
    return next((g for g in ordered if g.overage_allowed), None)


def _priority(grant: Grant) -> tuple[int, int, int]:
    rank = _INTERVAL_RANK.get(grant.reset.interval, _NEVER) if grant.reset else _NEVER
    return (grant.expires_at or _FOREVER, rank, grant.anchor_at)


def _original_usage(grants: list[Grant], grant_id: str) -> Decimal:
    return next(g.usage for g in grants if g.id == grant_id)
