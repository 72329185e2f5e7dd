"""balances.check: the request and its answer (the hot path: only what check needs)."""

from decimal import Decimal
from typing import Any

from pydantic import model_validator

from billing.api.wire.balance_rules import Properties, refuse_entities
from billing.api.wire.common import (
    Id,
    NonNegativeQuantity,
    WireRequest,
    WireResponse,
    omitted_when_none,
)
from billing.api.wire.flags import FlagResponse, flag_response
from billing.api.wire.holdings import BalanceResponse, balance_response, related_balances
from billing.domain.holdings import FeatureBalance, Flag


class CheckRequest(WireRequest):
    customer_id: Id
    feature_id: Id
    entity_id: Id | None = None
    required_balance: NonNegativeQuantity = Decimal(1)
    send_event: bool = False
    properties: Properties | None = None
    with_preview: bool = False

    @model_validator(mode="after")
    def _no_entities_yet(self) -> "CheckRequest":
        refuse_entities(self.entity_id)
        return self


class CheckResponse(WireResponse):
    allowed: bool
    customer_id: str
    required_balance: Decimal
    balance: BalanceResponse | None
    flag: FlagResponse | None
    # With send_event: the feature and the credit systems pricing it (see wire.track).
    balances: dict[str, BalanceResponse | None] | None = omitted_when_none()
    # Built by `wire.preview` (imported only for a denied check that asks for it).
    preview: dict[str, Any] | None = omitted_when_none()


def check_response(
    customer_id: str,
    required_balance: Decimal,
    allowed: bool,
    balance: FeatureBalance | None,
    flag: Flag | None,
    preview: dict[str, Any] | None = None,
    related: dict[str, FeatureBalance | None] | None = None,
) -> "CheckResponse":
    return CheckResponse(
        allowed=allowed,
        customer_id=customer_id,
        required_balance=required_balance,
        balance=None if balance is None else balance_response(balance),
        flag=None if flag is None else flag_response(flag),
        preview=preview,
        balances=None if related is None else related_balances(related),
    )
