"""What the webhook route answers Stripe (which reads only the status; the body helps
whoever looks at the delivery in Stripe's dashboard)."""

from __future__ import annotations

from typing import Literal

from billing.api.wire.common import WireResponse


class WebhookReceived(WireResponse):
    received: bool
    outcome: Literal["handled", "ignored", "duplicate"]
