"""The answer of routes that only confirm (deletes, balance changes)."""

from __future__ import annotations

from billing.api.wire.common import WireResponse


class SuccessResponse(WireResponse):
    success: bool
