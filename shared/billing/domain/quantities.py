"""Prepaid quantities on attach: the packages of billing units a customer buys up front,
and, on a switch of plan, the units carried over from the plan left. Pure, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_CEILING, Decimal

from billing.domain.errors import InvalidRequest
from billing.domain.holdings import Holdings, Subscription
from billing.domain.plans import Plan


def prepaid_packages(plan: Plan, quantities: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Packages of billing units bought of each prepaid item: the units asked for, less
    what the plan includes, rounded up to whole packages."""
    prepaid = {
        item.feature_id: item
        for item in plan.terms.items
        if item.price is not None and item.price.billing_method == "prepaid"
    }
    for feature_id in quantities:
        if feature_id not in prepaid:
            raise _bad_quantity(feature_id, "the plan sells no prepaid quantity of it")
    packages: dict[str, Decimal] = {}
    for feature_id, item in prepaid.items():
        assert item.price is not None
        wanted = quantities.get(feature_id, item.included)
        if wanted < 0:
            raise _bad_quantity(feature_id, "must be 0 or more")
        bought = max(Decimal(0), wanted - item.included)
        if item.price.max_purchase is not None and bought > item.price.max_purchase:
            raise _bad_quantity(
                feature_id, f"at most {item.price.max_purchase} units can be bought"
            )
        units = item.price.billing_units
        packages[feature_id] = (bought / units).to_integral_value(rounding=ROUND_CEILING)
    return packages


def carried_quantities(
    plan: Plan,
    held: Holdings,
    leaving: Plan,
    replaces: Subscription,
    asked: Mapping[str, Decimal],
) -> dict[str, Decimal]:
    """Units of each prepaid item of `plan` not asked for that the plan it replaces sold up
    front too: as in Autumn, a switch without `feature_quantities` keeps what the customer
    had bought (its units, the old plan's included ones counted, re-cut into the new plan's
    packages) rather than dropping it to the new plan's included amount and crediting the
    rest. Only what the plan gave and the customer paid for is carried: an allowance raised
    by hand (balances.update) is the operator's gift, never charged for on a switch."""
    prepaid = {
        item.feature_id
        for item in plan.terms.items
        if item.price is not None and item.price.billing_method == "prepaid"
    }
    included = {item.feature_id: item.included for item in leaving.terms.items}
    carried: dict[str, Decimal] = {}
    for grant in held.grants:
        if (
            grant.plan_id == replaces.plan_id
            and grant.feature_id in prepaid
            and grant.feature_id not in asked
            and grant.price is not None
            and grant.price.billing_method == "prepaid"
        ):
            bought = included.get(grant.feature_id, Decimal(0)) + grant.prepaid
            carried[grant.feature_id] = carried.get(grant.feature_id, Decimal(0)) + bought
    return carried


def _bad_quantity(feature_id: str, message: str) -> InvalidRequest:
    return InvalidRequest(
        f"The quantity of '{feature_id}' is not valid: {message}.",
        details=[{"field": f"feature_quantities.{feature_id}", "message": message}],
    )
