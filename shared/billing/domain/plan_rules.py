"""The rules a plan keeps (plans.create, plans.update, a plan customized for one purchase):
item defaults filled in, then every rule checked, else InvalidRequest naming the field.
Pure rules, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from billing.domain.errors import InvalidRequest
from billing.domain.features import Feature
from billing.domain.plans import Plan, PlanItem
from billing.domain.terms import (
    INFINITE,
    ItemPrice,
    PriceInterval,
    Reset,
    Tier,
)


def validated(plan: Plan, features: Mapping[str, Feature]) -> Plan:
    """The plan with item defaults filled in, once every rule holds; else InvalidRequest."""
    terms = plan.terms
    billed = plan.interval
    items = tuple(_validated_item(i, item, features, billed) for i, item in enumerate(terms.items))
    _check_duplicates(items)
    _check_credit_systems(items, features)
    shaped = plan.model_copy(update={"terms": terms.model_copy(update={"items": items})})
    _check_intervals(shaped)
    if terms.price is not None and not terms.price.amount >= 0:
        raise _invalid("price.amount", "must be 0 or more")
    if terms.price is not None and terms.price.interval_count < 1:
        raise _invalid("price.interval_count", "must be 1 or more")
    if terms.free_trial is not None:
        if terms.free_trial.duration_length < 1:
            raise _invalid("free_trial.duration_length", "must be 1 or more")
        if shaped.one_off or (shaped.free and not plan.auto_enable):
            raise _invalid(
                "free_trial",
                "only a recurring plan that is paid or given to every new customer can have "
                "a free trial",
            )
    if plan.auto_enable and not shaped.free:
        raise _invalid("auto_enable", "only a free plan can be given to every new customer")
    _check_stripe_amounts(shaped)
    return shaped


# Stripe takes a price in the currency's minor unit (cents: 100 of ours) with at most 12
# decimal places, and refuses finer ones; checked here, so the answer names our field.
MINOR_UNITS = 100


STRIPE_DECIMAL_PLACES = 12


def _check_stripe_amounts(plan: Plan) -> None:
    amounts: list[tuple[str, Decimal | None]] = []
    if plan.terms.price is not None:
        amounts.append(("price.amount", plan.terms.price.amount))
    for index, item in enumerate(plan.terms.items):
        if item.price is None:
            continue
        where = f"items.{index}.price"
        amounts.append((f"{where}.amount", item.price.amount))
        for number, tier in enumerate(item.price.tiers or ()):
            amounts.append((f"{where}.tiers.{number}.amount", tier.amount))
            amounts.append((f"{where}.tiers.{number}.flat_amount", tier.flat_amount))
    for field, amount in amounts:
        if amount is None or not amount.is_finite():
            continue
        exponent = (amount * MINOR_UNITS).normalize().as_tuple().exponent
        if isinstance(exponent, int) and -exponent > STRIPE_DECIMAL_PLACES:
            raise _invalid(
                field,
                f"Stripe takes at most {STRIPE_DECIMAL_PLACES} decimal places of a cent "
                f"({STRIPE_DECIMAL_PLACES + 2} of the amount)",
            )


# Autumn's bound: past this an allowance is better said as unlimited.
MAX_INCLUDED = 10_000_000_000_000


def _validated_item(
    index: int, item: PlanItem, features: Mapping[str, Feature], billed: PriceInterval | None
) -> PlanItem:
    where = f"items.{index}"
    feature = features.get(item.feature_id)
    if feature is None:
        raise _invalid(f"{where}.feature_id", "no such feature")
    if feature.archived:
        raise _invalid(f"{where}.feature_id", "the feature is archived")
    if feature.type == "boolean":
        if item.included or item.unlimited or item.price or item.reset:
            raise _invalid(where, "a boolean feature is granted as is: no amounts, price or reset")
        return item
    if item.included < 0:
        raise _invalid(f"{where}.included", "must be 0 or more")
    if item.included > MAX_INCLUDED:
        raise _invalid(
            f"{where}.included",
            "Included usage cannot exceed 10 trillion; use unlimited usage instead",
        )
    if item.unlimited and item.price is not None:
        raise _invalid(f"{where}.price", "an unlimited item has nothing to sell")
    reset = item.reset
    if not feature.consumable:
        if reset is not None and reset.interval != "one_off":
            raise _invalid(
                f"{where}.reset", f"'{feature.id}' is held, not used up: it never resets"
            )
        reset = None
    elif item.unlimited:
        reset = None  # nothing to give back
    elif reset is None:
        reset = _default_reset(item, billed)
    if reset is not None and reset.interval_count < 1:
        raise _invalid(f"{where}.reset.interval_count", "must be 1 or more")
    if item.price is not None:
        _check_item_price(where, item.price, feature, item.included)
    return item.model_copy(
        update={"reset": reset, "included": Decimal(0) if item.unlimited else item.included}
    )


def _default_reset(item: PlanItem, billed: PriceInterval | None) -> Reset:
    """A consumable item without a reset: a priced one follows its billing period; one with
    neither reset nor price is a lifetime allowance, as in Autumn."""
    if item.price is None:
        return Reset(interval="one_off")
    interval = item.price.interval or billed or "month"
    # A count below 1 is reported on the price itself (see _check_intervals).
    return Reset(interval=interval, interval_count=max(1, item.price.interval_count))


def _check_item_price(where: str, price: ItemPrice, feature: Feature, included: Decimal) -> None:
    if price.amount is None and price.tiers is None:
        raise _invalid(f"{where}.price", "either 'amount' or 'tiers' must be defined")
    if price.amount is not None and price.tiers is not None:
        raise _invalid(f"{where}.price", "'amount' and 'tiers' cannot both be defined")
    if price.amount is not None and not price.amount >= 0:
        raise _invalid(f"{where}.price.amount", "must be 0 or more")
    if not price.billing_units > 0:
        raise _invalid(f"{where}.price.billing_units", "must be greater than 0")
    if price.max_purchase is not None and not price.max_purchase > 0:
        raise _invalid(f"{where}.price.max_purchase", "must be greater than 0")
    if price.billing_method == "usage_based" and not feature.consumable:
        raise _invalid(
            f"{where}.price.billing_method",
            f"'{feature.id}' is held, not used up: sell it prepaid",
        )
    if price.tiers is not None:
        _check_tiers(f"{where}.price.tiers", price.tiers)
        _check_tier_kind(f"{where}.price", price, included)
        # Stripe counts tiers in packages of billing_units: bounds must fall on whole packages.
        for index, tier in enumerate(price.tiers):
            if not isinstance(tier.to, str) and (tier.to / price.billing_units) % 1:
                raise _invalid(
                    f"{where}.price.tiers.{index}.to",
                    f"must be a whole number of packages of {price.billing_units:g} units",
                )


def _check_tiers(where: str, tiers: tuple[Tier, ...]) -> None:
    if not tiers:
        raise _invalid(where, "at least one tier is needed")
    if tiers[-1].to != INFINITE:
        raise _invalid(f"{where}.{len(tiers) - 1}.to", "the last tier must go to 'inf'")
    previous = Decimal(0)
    for index, tier in enumerate(tiers):
        if not tier.amount >= 0:
            raise _invalid(f"{where}.{index}.amount", "must be 0 or more")
        if tier.flat_amount is not None and not tier.flat_amount >= 0:
            raise _invalid(f"{where}.{index}.flat_amount", "flat_amount must be 0 or greater")
        if isinstance(tier.to, str):  # "inf"
            if index != len(tiers) - 1:
                raise _invalid(f"{where}.{index}.to", "only the last tier goes to 'inf'")
            continue
        if not tier.to > previous:
            raise _invalid(f"{where}.{index}.to", "tiers must go up")
        previous = tier.to


def _check_tier_kind(where: str, price: ItemPrice, included: Decimal) -> None:
    """Autumn's rules on what tiers may carry and where they start."""
    tiers = price.tiers or ()
    flat = any(tier.flat_amount for tier in tiers)
    if flat and price.tier_behavior != "volume":
        raise _invalid(
            f"{where}.tier_behavior",
            "flat_amount on tiers is only supported for volume-based pricing",
        )
    if flat and len(tiers) < 2:
        raise _invalid(f"{where}.tiers", "flat_amount is not supported on single-tier pricing")
    if price.tier_behavior == "volume" and price.billing_method != "prepaid":
        raise _invalid(
            f"{where}.tier_behavior", "volume-based pricing is only supported for prepaid"
        )
    first = tiers[0].to if tiers else INFINITE
    if included and not isinstance(first, str) and not first > included:
        raise _invalid(f"{where}.tiers.0.to", "tiers[0].to must be greater than included")


def _check_duplicates(items: tuple[PlanItem, ...]) -> None:
    seen: set[tuple[str, str | None, str | None]] = set()
    priced: set[str] = set()
    for index, item in enumerate(items):
        if item.price is not None:
            if item.feature_id in priced:
                raise _invalid(
                    f"items.{index}.price", f"'{item.feature_id}' is already priced here"
                )
            priced.add(item.feature_id)
        key = (
            item.feature_id,
            item.reset.interval if item.reset else None,
            item.price.billing_method if item.price else None,
        )
        if key in seen:
            raise _invalid(f"items.{index}", f"'{item.feature_id}' is already in this plan")
        seen.add(key)


def _check_credit_systems(items: tuple[PlanItem, ...], features: Mapping[str, Feature]) -> None:
    """A unit drawn from a credit pool and also sold on its own would be billed twice."""
    priced = {item.feature_id for item in items if item.price is not None}
    for index, item in enumerate(items):
        system = features[item.feature_id]
        if system.type != "credit_system" or item.price is None:
            continue
        for entry in system.credit_schema:
            if entry.metered_feature_id in priced:
                raise _invalid(
                    f"items.{index}",
                    f"'{entry.metered_feature_id}' is priced both on its own and through "
                    f"'{system.id}'",
                )


_MONTHS = {"month": 1, "quarter": 3, "semi_annual": 6, "year": 12}


def _check_intervals(plan: Plan) -> None:
    """One Stripe subscription bills one interval: every price of a plan shares it, and
    Stripe bills at least once a year."""
    interval = plan.interval
    counts = [("price.interval_count", plan.terms.price.interval_count)] if plan.terms.price else []
    cadence = counts[0][1] if counts else None
    counts += [
        (f"items.{i}.price.interval_count", item.price.interval_count)
        for i, item in enumerate(plan.terms.items)
        if item.price is not None
    ]
    for field, count in counts:
        if count < 1:
            raise _invalid(field, "must be 1 or more")
        if interval in _MONTHS and _MONTHS[interval] * count > 12:
            raise _invalid(field, "a billing period can be at most one year")
        if cadence is None:
            cadence = count  # without a base price, the first priced item sets the cadence
        elif count != cadence:
            raise _invalid(field, f"must match the plan's billing period ({cadence} x {interval})")
    for index, item in enumerate(plan.terms.items):
        if item.price is None:
            continue
        item_interval = item.price.interval or interval
        if item_interval != interval:
            raise _invalid(
                f"items.{index}.price.interval", f"must match the plan's interval ({interval})"
            )
        if interval == "one_off" and item.price.billing_method == "usage_based":
            raise _invalid(
                f"items.{index}.price.billing_method",
                "a one-off plan has no period end to bill usage at",
            )
        if interval == "one_off" and item.price.tiers is not None:
            raise _invalid(f"items.{index}.price.tiers", "Stripe has no tiered one-time prices")


def _invalid(field: str, message: str) -> InvalidRequest:
    return InvalidRequest(
        f"The plan is not valid: {field}: {message}.",
        details=[{"field": field, "message": message}],
    )
