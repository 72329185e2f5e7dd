"""balances.track: the request and its answers (the hot path: only what track needs)."""

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from billing.api.wire.balance_rules import Properties, refuse_entities
from billing.api.wire.common import (
    EventTime,
    Id,
    IdempotencyKey,
    Quantity,
    WireRequest,
    WireResponse,
    omitted_when_none,
)
from billing.api.wire.holdings import BalanceResponse, balance_response, related_balances
from billing.domain.holdings import FeatureBalance
from billing.domain.usage import Deduction


class TrackRequest(WireRequest):
    customer_id: Id
    feature_id: Id | None = None
    event_name: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    entity_id: Id | None = None
    value: Quantity = Decimal(1)
    properties: Properties | None = None
    timestamp: EventTime | None = None
    overage_behavior: Literal["cap", "overflow"] = "cap"
    async_: bool = Field(default=False, alias="async")
    idempotency_key: IdempotencyKey | None = None

    @model_validator(mode="after")
    def _one_target(self) -> "TrackRequest":
        if (self.feature_id is None) == (self.event_name is None):
            raise ValueError("give exactly one of feature_id and event_name")
        refuse_entities(self.entity_id)
        return self


class DeductionResponse(WireResponse):
    balance_id: str
    feature_id: str
    plan_id: str | None
    reset: dict[str, Any] | None
    value: Decimal


class TrackResponse(WireResponse):
    customer_id: str
    value: Decimal
    balance: BalanceResponse | None
    event_name: str | None = omitted_when_none()
    balances: dict[str, BalanceResponse | None] | None = omitted_when_none()
    deductions: list[DeductionResponse]


def track_response(
    request: TrackRequest,
    deductions: list[Deduction],
    balance: FeatureBalance | None,
    related: dict[str, FeatureBalance | None],
) -> "TrackResponse":
    return TrackResponse(
        customer_id=request.customer_id,
        value=request.value,
        balance=None if balance is None else balance_response(balance),
        event_name=request.event_name,
        balances=related_balances(related),
        deductions=[
            DeductionResponse(
                balance_id=change.grant.id,
                feature_id=change.grant.feature_id,
                plan_id=change.grant.plan_id,
                reset=None
                if change.grant.reset is None
                else {
                    "interval": change.grant.reset.interval,
                    "interval_count": change.grant.reset.interval_count,
                    "resets_at": change.grant.next_reset_at,
                },
                value=change.value,
            )
            for deduction in deductions
            for change in deduction.changes
            if change.value
        ],
    )
