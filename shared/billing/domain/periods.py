"""Closing a billing period of a paid plan: the usage past its usage-based allowances is
billed in arrears, and the period's balances start again. Pure."""

from __future__ import annotations

from collections.abc import Container, Iterable
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import NamedTuple

from billing.domain.holdings import Grant
from billing.domain.schedule import next_reset_at
from billing.domain.terms import Tier
from billing.numbers import ZERO


class Overage(NamedTuple):
    """Units used past a usage-based allowance in one period, and what they cost: whole
    packages of the item's billing units at its flat amount."""

    feature_id: str
    plan_id: str | None
    units: Decimal
    packages: int
    amount: Decimal


def overage_of(grant: Grant) -> Overage | None:
    """What the grant's period used past its allowance, if it is billed in arrears: whole
    packages of billing units at the flat amount, or through graduated tiers whose bounds
    count the period's whole usage (the allowance is the free start of the first tier)."""
    price = grant.price
    if not grant.overage_allowed or grant.unlimited or price is None:
        return None
    units = grant.usage - grant.granted
    if units <= ZERO:
        return None
    if price.tiers is None:
        packages = _packages(units, price.billing_units)
        amount = (price.amount or ZERO) * packages
    else:
        packages, amount = _through_tiers(
            grant.granted, grant.usage, price.tiers, price.billing_units
        )
    return Overage(grant.feature_id, grant.plan_id, units, packages, amount)


def _through_tiers(
    free: Decimal, used: Decimal, tiers: tuple[Tier, ...], billing_units: Decimal
) -> tuple[int, Decimal]:
    """Packages and cost of the usage between `free` and `used`, tier by tier."""
    packages, amount, lower = 0, ZERO, ZERO
    for tier in tiers:
        upper = used if tier.to == "inf" else min(used, tier.to)
        billed = upper - max(lower, free)
        if billed > ZERO:
            in_tier = _packages(billed, billing_units)
            packages += in_tier
            amount += tier.amount * in_tier
        if tier.to == "inf" or tier.to >= used:
            break
        lower = tier.to
    return packages, amount


def _packages(units: Decimal, billing_units: Decimal) -> int:
    return int((units / billing_units).to_integral_value(rounding=ROUND_CEILING))


def resets_with_period(grant: Grant) -> bool:
    """A recurring allowance starts again when its plan's period does."""
    return not grant.unlimited and grant.reset is not None and grant.reset.interval != "one_off"


def closing_grants(
    grants: Iterable[Grant], plan_ids: Container[str | None], trial: bool
) -> list[Grant]:
    """The grants a period's close bills and resets: the recurring allowances of the plans
    whose period closes. When the period was a free trial, usage billed in arrears is
    neither billed nor reset (as Autumn does): it is carried into the first paid period,
    whose close bills it with that period's own usage. Other allowances start again."""
    return [
        g
        for g in grants
        if g.plan_id in plan_ids
        and resets_with_period(g)
        and not (trial and g.overage_allowed and not g.unlimited)
    ]


def reset_for_new_period(grant: Grant, now_ms: int) -> Grant:
    """The grant at the start of a new period: nothing used. A grant billed in arrears keeps
    no reset time of its own (only its period's close resets it); others count their next
    reset from their anchor as always."""
    following = (
        None
        if grant.next_reset_at is None
        else next_reset_at(grant.anchor_at, grant.reset, max(now_ms, grant.next_reset_at))
    )
    return grant._replace(usage=ZERO, next_reset_at=following)


@dataclass(frozen=True)
class OverageCharge:
    """Usage past a usage-based allowance, billed in arrears on a renewal's draft invoice:
    `quantity` packages of a flat price, or an `amount` we priced (tiers). Its idempotency
    key names the customer, feature and period, so the charge is added once whatever
    happens to the event that adds it."""

    feature_id: str
    description: str
    idempotency_key: str
    price_id: str | None = None
    quantity: int = 1
    amount: Decimal | None = None
