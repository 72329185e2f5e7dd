"""balances.create and balances.update: requests (admin routes, off the hot path)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import model_validator

from billing.api.wire.balance_rules import refuse_entities
from billing.api.wire.common import (
    Count,
    EpochMs,
    Id,
    NonNegativeQuantity,
    Quantity,
    WireRequest,
)
from billing.domain.errors import InvalidRequest

Interval = Literal["hour", "day", "week", "month", "quarter", "semi_annual", "year", "one_off"]


class ResetFields(WireRequest):
    interval: Interval
    interval_count: Count = 1


class CreateBalanceRequest(WireRequest):
    customer_id: Id
    feature_id: Id
    entity_id: Id | None = None
    included_grant: NonNegativeQuantity = Decimal(0)
    unlimited: bool = False
    reset: ResetFields | None = None
    rollover: dict[str, Any] | None = None
    expires_at: EpochMs | None = None
    next_reset_at: EpochMs | None = None
    balance_id: Id | None = None

    @model_validator(mode="after")
    def _supported(self) -> CreateBalanceRequest:
        refuse_entities(self.entity_id)
        if self.rollover is not None:
            raise InvalidRequest(
                "Rollovers are not available yet.",
                details=[{"field": "rollover", "message": "not supported yet"}],
            )
        return self


class UpdateBalanceRequest(WireRequest):
    customer_id: Id
    feature_id: Id
    entity_id: Id | None = None
    balance_id: Id | None = None
    remaining: Quantity | None = None
    add_to_balance: Quantity | None = None
    usage: Quantity | None = None
    included_grant: NonNegativeQuantity | None = None
    interval: Interval | None = None
    next_reset_at: EpochMs | None = None
    expires_at: EpochMs | None = None

    @model_validator(mode="after")
    def _no_entities_yet(self) -> UpdateBalanceRequest:
        refuse_entities(self.entity_id)
        return self
