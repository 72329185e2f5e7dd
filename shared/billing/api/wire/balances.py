"""balances.check and balances.track: requests and answers."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from billing.api.wire.common import (
    Count,
    EpochMs,
    EventTime,
    Id,
    IdempotencyKey,
    JsonObject,
    NonNegativeQuantity,
    Quantity,
    WireRequest,
    WireResponse,
    omitted_when_none,
)
from billing.api.wire.holdings import BalanceResponse, FlagResponse, balance_response, flag_response
from billing.domain.errors import InvalidRequest
from billing.domain.holdings import FeatureBalance, Flag
from billing.domain.usage import Deduction

Properties = Annotated[JsonObject, Field(max_length=100)]


class CheckRequest(WireRequest):
    customer_id: Id
    feature_id: Id
    entity_id: Id | None = None
    required_balance: NonNegativeQuantity = Decimal(1)
    send_event: bool = False
    properties: Properties | None = None
    with_preview: bool = False

    @model_validator(mode="after")
    def _no_entities_yet(self) -> CheckRequest:
        _refuse_entities(self.entity_id)
        return self


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
    def _one_target(self) -> TrackRequest:
        if (self.feature_id is None) == (self.event_name is None):
            raise ValueError("give exactly one of feature_id and event_name")
        _refuse_entities(self.entity_id)
        return self


class CheckResponse(WireResponse):
    allowed: bool
    customer_id: str
    required_balance: Decimal
    balance: BalanceResponse | None
    flag: FlagResponse | None
    # With send_event: every balance the deduction touched.
    balances: dict[str, BalanceResponse] | None = omitted_when_none()
    # Built by `wire.preview` (imported only for a denied check that asks for it).
    preview: dict[str, Any] | None = omitted_when_none()


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
    balances: dict[str, BalanceResponse] | None = omitted_when_none()
    deductions: list[DeductionResponse]


class QueuedTrackResponse(WireResponse):
    """The 202 answer to an `async: true` track: queued, applied shortly, so no balance yet."""

    customer_id: str
    value: Decimal
    balance: None = None
    event_name: str | None = omitted_when_none()


def check_response(
    customer_id: str,
    required_balance: Decimal,
    allowed: bool,
    balance: FeatureBalance | None,
    flag: Flag | None,
    preview: dict[str, Any] | None = None,
    touched: dict[str, FeatureBalance] | None = None,
) -> CheckResponse:
    return CheckResponse(
        allowed=allowed,
        customer_id=customer_id,
        required_balance=required_balance,
        balance=None if balance is None else balance_response(balance),
        flag=None if flag is None else flag_response(flag),
        preview=preview,
        balances=None
        if touched is None
        else {feature_id: balance_response(b) for feature_id, b in touched.items()},
    )


def track_response(
    request: TrackRequest, deductions: list[Deduction], balances: dict[str, FeatureBalance]
) -> TrackResponse:
    """`balances` holds every balance the use touched; `balance` is that balance when it
    touched one, else null (an event name using several features, or credits paying)."""
    shown = {feature_id: balance_response(b) for feature_id, b in balances.items()}
    return TrackResponse(
        customer_id=request.customer_id,
        value=request.value,
        balance=next(iter(shown.values())) if len(shown) == 1 else None,
        event_name=request.event_name,
        balances=shown,
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


def _refuse_entities(entity_id: str | None) -> None:
    if entity_id is not None:
        raise InvalidRequest(
            "Entities are not available yet.",
            details=[{"field": "entity_id", "message": "not supported yet"}],
        )


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
        _refuse_entities(self.entity_id)
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
        _refuse_entities(self.entity_id)
        return self
