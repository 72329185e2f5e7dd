"""The small value types a plan item and a customer's grant share: its reset and its price.

Kept apart from plans so that the hot path (check, track) loads only these.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

PriceInterval = Literal["month", "quarter", "semi_annual", "year", "one_off"]
ResetInterval = Literal["hour", "day", "week", "month", "quarter", "semi_annual", "year", "one_off"]
BillingMethod = Literal["prepaid", "usage_based"]
TierBehavior = Literal["graduated", "volume"]
TrialUnit = Literal["day", "month", "year"]

INFINITE = "inf"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Tier(_Frozen):
    to: Literal["inf"] | Decimal
    amount: Decimal
    flat_amount: Decimal | None = None


class ItemPrice(_Frozen):
    amount: Decimal | None = None
    tiers: tuple[Tier, ...] | None = None
    tier_behavior: TierBehavior | None = None
    interval: PriceInterval | None = None
    interval_count: int = 1
    billing_units: Decimal = Decimal(1)
    billing_method: BillingMethod = "prepaid"
    max_purchase: Decimal | None = None


class Reset(_Frozen):
    interval: ResetInterval
    interval_count: int = 1
