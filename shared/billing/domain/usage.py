"""Using a feature: which grants pay for it, in which order, and what each one gives.

Pure. A deduction is computed against the grants as read, after applying any reset that
fell due since (resets are lazy: nothing runs at the reset time, the next read or write
applies it). The store then writes it with conditions that make it exact under concurrency.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict

from billing.domain.features import Feature
from billing.domain.holdings import Grant
from billing.domain.schedule import next_reset_at

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


class GrantChange(BaseModel):
    """One grant's part in a deduction: its usage before and after, and a reset applied."""

    model_config = ConfigDict(frozen=True)

    grant: Grant
    usage_before: float
    usage_after: float
    # Set when the grant's reset fell due: the write must apply it exactly once.
    reset_from: int | None = None

    @property
    def value(self) -> float:
        return self.usage_after - (0 if self.reset_from is not None else self.usage_before)


class Deduction(BaseModel):
    model_config = ConfigDict(frozen=True)

    feature_id: str
    requested: float
    applied: float
    changes: tuple[GrantChange, ...]

    @property
    def capped(self) -> float:
        return self.requested - self.applied


def current(grant: Grant, now_ms: int) -> Grant:
    """The grant as it stands at `now_ms`: a reset that fell due since is applied."""
    if grant.next_reset_at is None or grant.next_reset_at > now_ms:
        return grant
    return grant.model_copy(
        update={"usage": 0, "next_reset_at": next_reset_at(grant.anchor_at, grant.reset, now_ms)}
    )


def usable(grants: Iterable[Grant], now_ms: int) -> list[Grant]:
    """Live grants (expired ones dropped), reset as due, in deduction order: soonest expiry
    first, then shorter reset intervals before longer, grants that never reset last."""
    live = [current(g, now_ms) for g in grants if g.expires_at is None or g.expires_at > now_ms]
    return sorted(live, key=_priority)


def deduct(
    feature_id: str,
    grants: Iterable[Grant],
    value: float,
    now_ms: int,
    overage: OverageBehavior = "cap",
    all_or_nothing: bool = False,
) -> Deduction:
    """Takes `value` from the feature's grants in deduction order.

    `cap` takes what fits and stops at zero; `overflow` lets the balance go negative where
    overage is allowed (a usage-based price). `all_or_nothing` (check with send_event)
    takes the whole value or nothing. A negative value gives units back, last used first.
    """
    before = list(grants)
    ordered = usable(before, now_ms)
    resets = {g.id: g.next_reset_at for g in before}
    usage = {g.id: g.usage for g in ordered}
    if value >= 0:
        applied = _take(ordered, usage, value, overage, all_or_nothing)
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
        changed[g.id].grant.model_copy(update={"usage": changed[g.id].usage_after})
        if g.id in changed
        else g
        for g in grants
    )


def overage_allowed(grants: Iterable[Grant]) -> bool:
    return any(g.price is not None and g.price.billing_method == "usage_based" for g in grants)


def paying_features(
    feature_id: str, features: Mapping[str, Feature], held: Iterable[Grant]
) -> list[tuple[str, float]]:
    """Which balance pays for using `feature_id`, and how many of its units per unit used:
    the feature's own grants if the customer has any, else a credit system that prices it."""
    held_features = {g.feature_id for g in held}
    if feature_id in held_features:
        return [(feature_id, 1.0)]
    for system in features.values():
        if system.id not in held_features:
            continue
        for entry in system.credit_schema:
            if entry.metered_feature_id == feature_id:
                return [(system.id, entry.credit_cost)]
    return [(feature_id, 1.0)]


def _take(
    ordered: list[Grant],
    usage: dict[str, float],
    value: float,
    overage: OverageBehavior,
    all_or_nothing: bool,
) -> float:
    if any(g.unlimited for g in ordered):
        unlimited = next(g for g in ordered if g.unlimited)
        usage[unlimited.id] += value
        return value
    room = {g.id: max(0.0, g.granted - usage[g.id]) for g in ordered}
    fits = sum(room.values())
    spill_to = _overage_grant(ordered) if overage == "overflow" else None
    if all_or_nothing and fits < value and spill_to is None:
        return 0.0
    left = value
    for grant in ordered:
        take = min(room[grant.id], left)
        usage[grant.id] += take
        left -= take
    if left > 0 and spill_to is not None:
        usage[spill_to.id] += left
        left = 0.0
    return value - left


def _give_back(ordered: list[Grant], usage: dict[str, float], value: float) -> float:
    left = value
    for grant in reversed(ordered):
        give = min(max(0.0, usage[grant.id]), left)
        usage[grant.id] -= give
        left -= give
    return value - left


def _overage_grant(ordered: list[Grant]) -> Grant | None:
    """Where usage beyond the balance goes: the grant with a usage-based price."""
    return next(
        (g for g in ordered if g.price is not None and g.price.billing_method == "usage_based"),
        None,
    )


def _priority(grant: Grant) -> tuple[int, int, int]:
    rank = _INTERVAL_RANK.get(grant.reset.interval, _NEVER) if grant.reset else _NEVER
    return (grant.expires_at or _FOREVER, rank, grant.anchor_at)


def _original_usage(grants: list[Grant], grant_id: str) -> float:
    return next(g.usage for g in grants if g.id == grant_id)
