"""What `billing.preview_attach` shows of an attach: the money it moves, as line items, and
the plans it brings and ends. Pure, no I/O; amounts in major units, moments in epoch ms.

A purchase is priced here from the plan's own terms, exactly as its Stripe prices charge
(the base price, and each prepaid item's packages, tiered as its Stripe price is). A change
of a paid subscription is prorated by Stripe, so its lines come from Stripe's invoice
preview instead (see `services/billing/previews.py`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from billing.domain.attach import billing_period
from billing.domain.features import Feature
from billing.domain.holdings import Holdings
from billing.domain.plans import Plan
from billing.domain.schedule import next_reset_at
from billing.domain.terms import ItemPrice

Period = tuple[int, int]


class PreviewLine(NamedTuple):
    display_name: str
    description: str
    amount: Decimal
    plan_id: str
    feature_id: str | None
    quantity: Decimal
    period: Period | None = None


class UsageLine(NamedTuple):
    """A usage-based item: billed at the period end for what is used, so no amount yet."""

    display_name: str
    plan_id: str
    feature_id: str
    period: Period | None


class Cycle(NamedTuple):
    """The next billing cycle: when it starts and what it bills."""

    starts_at: int
    lines: tuple[PreviewLine, ...]
    usage_lines: tuple[UsageLine, ...]


class PlanMove(NamedTuple):
    """A plan the change brings in or ends, with its prepaid quantities in units (included
    counted in). `effective_at` None: at once."""

    plan: Plan
    feature_quantities: tuple[tuple[str, Decimal], ...]
    effective_at: int | None


def total(lines: Iterable[PreviewLine]) -> Decimal:
    return sum((line.amount for line in lines), Decimal(0))


def purchase_lines(
    plan: Plan,
    features: Mapping[str, Feature],
    packages: Mapping[str, Decimal],
    period: Period | None,
) -> tuple[PreviewLine, ...]:
    """What buying `plan` costs for one period: its base price, and each prepaid item's
    packages bought beyond what the plan includes."""
    lines: list[PreviewLine] = []
    base = plan.terms.price
    if base is not None and base.amount > 0:
        lines.append(
            PreviewLine(
                display_name=plan.name,
                description=f"{plan.name}: base price",
                amount=charged(base.amount),
                plan_id=plan.id,
                feature_id=None,
                quantity=Decimal(1),
                period=period,
            )
        )
    for item in plan.terms.items:
        bought = packages.get(item.feature_id, Decimal(0))
        if item.price is None or item.price.billing_method != "prepaid" or bought <= 0:
            continue
        name = _name(features, item.feature_id)
        units = bought * item.price.billing_units
        lines.append(
            PreviewLine(
                display_name=name,
                description=f"{name}: {units} units",
                amount=charged(package_cost(item.price, bought)),
                plan_id=plan.id,
                feature_id=item.feature_id,
                quantity=units,
                period=period,
            )
        )
    return tuple(lines)


def next_cycle(
    plan: Plan, features: Mapping[str, Feature], packages: Mapping[str, Decimal], starts_at: int
) -> Cycle | None:
    """The first full cycle of `plan` from `starts_at`; None for a one-off plan."""
    length = billing_period(plan)
    if length is None:
        return None
    ends_at = next_reset_at(starts_at, length, starts_at)
    period = (starts_at, ends_at) if ends_at is not None else None
    usage = tuple(
        UsageLine(_name(features, item.feature_id), plan.id, item.feature_id, period)
        for item in plan.terms.items
        if item.price is not None and item.price.billing_method == "usage_based"
    )
    return Cycle(starts_at, purchase_lines(plan, features, packages, period), usage)


def times(cycle: Cycle, count: Decimal) -> Cycle:
    """The cycle of `count` of a plan held stacked (an add-on bought again): its base price
    billed that many times."""
    lines = tuple(
        line._replace(amount=line.amount * count, quantity=line.quantity * count)
        if line.feature_id is None
        else line
        for line in cycle.lines
    )
    return cycle._replace(lines=lines)


def period_end(plan: Plan, starts_at: int) -> int | None:
    """When a period of `plan` that starts at `starts_at` ends (None: one-off)."""
    return next_reset_at(starts_at, billing_period(plan), starts_at)


def charged(amount: Decimal) -> Decimal:
    """A line's amount as Stripe charges it: whole cents, rounded once per line with half a
    cent up (3 packages at 0.125 are charged 0.38, not 0.375)."""
    return amount.quantize(_CENT, rounding=ROUND_HALF_UP)


_CENT = Decimal("0.01")


def package_cost(price: ItemPrice, packages: Decimal) -> Decimal:
    """What `packages` of a prepaid price cost, as its Stripe price charges them: per
    package, or by tiers whose bounds are counted in packages."""
    if price.tiers is None:
        return (price.amount or Decimal(0)) * packages
    units = price.billing_units or Decimal(1)
    bounds = [None if tier.to == "inf" else _packages_in(tier.to, units) for tier in price.tiers]
    if price.tier_behavior == "volume":
        for tier, bound in zip(price.tiers, bounds, strict=True):
            if bound is None or packages <= bound:
                return tier.amount * packages + (tier.flat_amount or Decimal(0))
    cost, below = Decimal(0), Decimal(0)
    for tier, bound in zip(price.tiers, bounds, strict=True):
        if packages <= below:
            break
        upper = packages if bound is None else min(packages, bound)
        cost += tier.amount * (upper - below) + (tier.flat_amount or Decimal(0))
        below = upper
    return cost


def bought_quantities(
    plan: Plan, packages: Mapping[str, Decimal]
) -> tuple[tuple[str, Decimal], ...]:
    """Each prepaid item's units once bought: what the plan includes plus the packages."""
    return tuple(
        (
            item.feature_id,
            item.included + packages.get(item.feature_id, Decimal(0)) * item.price.billing_units,
        )
        for item in plan.terms.items
        if item.price is not None and item.price.billing_method == "prepaid"
    )


def held_quantities(held: Holdings, plan_id: str) -> tuple[tuple[str, Decimal], ...]:
    """Each prepaid item's units a held plan gives."""
    return tuple(
        (grant.feature_id, grant.included + grant.prepaid)
        for grant in held.grants
        if grant.plan_id == plan_id
        and grant.price is not None
        and grant.price.billing_method == "prepaid"
    )


def _packages_in(units: Decimal, billing_units: Decimal) -> Decimal:
    whole = -(-int(units) // int(billing_units or 1))
    return Decimal(max(1, whole))


def _name(features: Mapping[str, Feature], feature_id: str) -> str:
    feature = features.get(feature_id)
    return feature.name if feature is not None and feature.name else feature_id
