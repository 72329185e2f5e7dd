"""The small value types a plan item and a customer's grant share: its reset and its price.

Kept apart from plans so that the hot path (check, track) loads only these.
"""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal, NamedTuple

PriceInterval = Literal["month", "quarter", "semi_annual", "year", "one_off"]
ResetInterval = Literal["hour", "day", "week", "month", "quarter", "semi_annual", "year", "one_off"]
BillingMethod = Literal["prepaid", "usage_based"]
TierBehavior = Literal["graduated", "volume"]
TrialUnit = Literal["day", "month", "year"]

INFINITE = "inf"


# NamedTuples, not models: defining a pydantic model costs the hot path's cold start about
# a millisecond each. Plans (pydantic) validate them as fields all the same.
class Tier(NamedTuple):
    to: Literal["inf"] | Decimal
    amount: Decimal
    flat_amount: Decimal | None = None


class ItemPrice(NamedTuple):
    amount: Decimal | None = None
    tiers: tuple[Tier, ...] | None = None
    tier_behavior: TierBehavior | None = None
    interval: PriceInterval | None = None
    interval_count: int = 1
    billing_units: Decimal = Decimal(1)
    billing_method: BillingMethod = "prepaid"
    max_purchase: Decimal | None = None


class Reset(NamedTuple):
    interval: ResetInterval
    interval_count: int = 1


def as_fields(value: Reset | ItemPrice | Tier) -> dict[str, Any]:
    """A term as an object by field name (its tiers too), as plans and grants store it."""
    fields = value._asdict()
    if isinstance(value, ItemPrice) and value.tiers is not None:
        fields["tiers"] = [tier._asdict() for tier in value.tiers]
    return fields


def reset_from(fields: Mapping[str, Any]) -> "Reset":
    return Reset(interval=fields["interval"], interval_count=int(fields.get("interval_count", 1)))


def price_from(fields: Mapping[str, Any]) -> "ItemPrice":
    """An item price from its stored fields, numbers read back as exact decimals."""
    tiers = fields.get("tiers")
    return ItemPrice(
        amount=_decimal_or_none(fields.get("amount")),
        tiers=None if tiers is None else tuple(_tier_from(tier) for tier in tiers),
        tier_behavior=fields.get("tier_behavior"),
        interval=fields.get("interval"),
        interval_count=int(fields.get("interval_count", 1)),
        billing_units=Decimal(fields.get("billing_units", 1)),
        billing_method=fields.get("billing_method", "prepaid"),
        max_purchase=_decimal_or_none(fields.get("max_purchase")),
    )


def _tier_from(fields: Mapping[str, Any]) -> "Tier":
    to = fields["to"]
    return Tier(
        to="inf" if to == INFINITE else Decimal(to),
        amount=Decimal(fields["amount"]),
        flat_amount=_decimal_or_none(fields.get("flat_amount")),
    )


def _decimal_or_none(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)
