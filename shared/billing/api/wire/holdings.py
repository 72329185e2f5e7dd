"""Balances as the Customer, check and track answers show them."""

from decimal import Decimal
from typing import Any

from billing.api.wire.common import WireResponse
from billing.domain.holdings import FeatureBalance, Grant
from billing.domain.terms import ItemPrice, Tier


class ResetResponse(WireResponse):
    interval: str
    interval_count: int
    resets_at: int | None


class GrantResponse(WireResponse):
    id: str
    plan_id: str | None
    included_grant: Decimal
    prepaid_grant: Decimal
    remaining: Decimal
    usage: Decimal
    unlimited: bool
    reset: ResetResponse | None
    price: dict[str, Any] | None
    expires_at: int | None


class BalanceResponse(WireResponse):
    feature_id: str
    granted: Decimal
    remaining: Decimal
    usage: Decimal
    unlimited: bool
    overage_allowed: bool
    max_purchase: Decimal | None
    next_reset_at: int | None
    breakdown: list[GrantResponse]


def balance_response(balance: FeatureBalance) -> "BalanceResponse":
    return BalanceResponse(
        feature_id=balance.feature_id,
        granted=balance.granted,
        remaining=_shown(balance.remaining),
        usage=balance.usage,
        unlimited=balance.unlimited,
        overage_allowed=balance.overage_allowed,
        max_purchase=balance.max_purchase,
        next_reset_at=balance.next_reset_at,
        breakdown=[_grant_response(g) for g in balance.grants],
    )


def _shown(remaining: Decimal) -> Decimal:
    """Use past the allowance (overage billed in arrears) shows as usage beyond `granted`
    with nothing remaining, as Autumn answers it: its schema has no negative remaining."""
    return max(remaining, Decimal(0))


def _grant_response(grant: Grant) -> "GrantResponse":
    price = grant.price
    return GrantResponse(
        id=grant.id,
        plan_id=grant.plan_id,
        included_grant=grant.included,
        # Units used past the grant (seats) count as bought.
        prepaid_grant=grant.prepaid + grant.purchased,
        remaining=_shown(grant.remaining),
        usage=grant.usage,
        unlimited=grant.unlimited,
        reset=None
        if grant.reset is None
        else ResetResponse(
            interval=grant.reset.interval,
            interval_count=grant.reset.interval_count,
            resets_at=grant.next_reset_at,
        ),
        price=None if price is None else _price_response(price),
        expires_at=grant.expires_at,
    )


def _price_response(price: ItemPrice) -> dict[str, Any]:
    """An item's price as a breakdown shows it. Autumn's schema has `amount`, `tiers` and
    `tier_behavior` optional but not nullable: a flat price leaves the tier fields out, a
    tiered one its amount; `max_purchase` is nullable and always there."""
    shown: dict[str, Any] = {
        "billing_units": price.billing_units,
        "billing_method": price.billing_method,
        "max_purchase": price.max_purchase,
    }
    if price.amount is not None:
        shown["amount"] = price.amount
    if price.tiers is not None:
        shown["tiers"] = [_tier(tier) for tier in price.tiers]
    if price.tier_behavior is not None:
        shown["tier_behavior"] = price.tier_behavior
    return shown


def _tier(tier: Tier) -> dict[str, Any]:
    """A tier's flat amount is optional, not nullable, too."""
    fields = {"to": tier.to, "amount": tier.amount}
    return fields if tier.flat_amount is None else {**fields, "flat_amount": tier.flat_amount}


def related_balances(
    related: dict[str, FeatureBalance | None],
) -> dict[str, BalanceResponse | None] | None:
    """Every feature the use concerns (the features used and the credit systems pricing
    them) with its balance, null where the customer holds none; left out, as Autumn does,
    when that is a single feature (its balance is `balance`)."""
    if len(related) < 2:
        return None
    return {f: None if b is None else balance_response(b) for f, b in related.items()}
