"""Flags (boolean features held) as the Customer and check answers show them."""

from billing.api.wire.common import WireResponse
from billing.domain.holdings import Flag


class FlagResponse(WireResponse):
    id: str
    plan_id: str | None
    expires_at: int | None
    feature_id: str


def flag_response(flag: Flag) -> "FlagResponse":
    return FlagResponse(**flag._asdict())
