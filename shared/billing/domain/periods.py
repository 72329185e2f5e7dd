"""Closing a billing period of a paid plan: the usage past its usage-based allowances is
billed in arrears, and the period's balances start again. Pure."""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal
from typing import NamedTuple

from billing.domain.holdings import Grant
from billing.domain.schedule import next_reset_at
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
    """What the grant's period used past its allowance, if it is billed in arrears. Tiered
    overage is not billed here yet (it needs our own tier pricing)."""
    price = grant.price
    if not grant.overage_allowed or grant.unlimited or price is None or price.amount is None:
        return None
    units = grant.usage - grant.granted
    if units <= ZERO:
        return None
    packages = int((units / price.billing_units).to_integral_value(rounding=ROUND_CEILING))
    return Overage(grant.feature_id, grant.plan_id, units, packages, price.amount * packages)


def resets_with_period(grant: Grant) -> bool:
    """A recurring allowance starts again when its plan's period does."""
    return not grant.unlimited and grant.reset is not None and grant.reset.interval != "one_off"


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
