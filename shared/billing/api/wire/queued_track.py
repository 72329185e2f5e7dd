"""The answer to balances.track with `async: true` (imported only on that path)."""

from __future__ import annotations

from decimal import Decimal

from billing.api.wire.common import WireResponse, omitted_when_none


class QueuedTrackResponse(WireResponse):
    """The 202 answer to an `async: true` track: queued, applied shortly, so no balance yet."""

    customer_id: str
    value: Decimal
    balance: None = None
    event_name: str | None = omitted_when_none()
