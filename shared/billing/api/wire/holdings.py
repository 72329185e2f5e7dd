"""Balances as the Customer, check and track answers show them."""

from decimal import Decimal
from typing import Any

from billing.api.wire.common import WireResponse
from billing.domain.holdings import FeatureBalance, Grant


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
        remaining=balance.remaining,
        usage=balance.usage,
        unlimited=balance.unlimited,
        overage_allowed=balance.overage_allowed,
        max_purchase=balance.max_purchase,
        next_reset_at=balance.next_reset_at,
        breakdown=[_grant_response(g) for g in balance.grants],
    )


def _grant_response(grant: Grant) -> "GrantResponse":
    price = grant.price
    return GrantResponse(
        id=grant.id,
        plan_id=grant.plan_id,
        included_grant=grant.included,
        # Units used past the grant (seats) count as bought.
        prepaid_grant=grant.prepaid + grant.purchased,
        remaining=grant.remaining,
        usage=grant.usage,
        unlimited=grant.unlimited,
        reset=None
        if grant.reset is None
        else ResetResponse(
            interval=grant.reset.interval,
            interval_count=grant.reset.interval_count,
            resets_at=grant.next_reset_at,
        ),
        price=None
        if price is None
        else {
            "billing_units": price.billing_units,
            "billing_method": price.billing_method,
            "max_purchase": price.max_purchase,
            "amount": price.amount,
            "tier_behavior": price.tier_behavior,
            "tiers": None if price.tiers is None else [tier._asdict() for tier in price.tiers],
        },
        expires_at=grant.expires_at,
    )
