"""The usage queue (SQS): `track` with `async: true` puts a use here, the worker applies it.

A message is one use with its event id and queue time already fixed, so however often
SQS delivers it, the worker recognises it and applies it once.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from billing import sqs
from billing.clock import EARLIEST_EVENT_MS, LAST_MS
from billing.config import settings
from billing.domain.errors import InvalidRequest


class QueuedUse(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: str
    queued_at: int
    customer_id: str
    feature_id: str | None = None
    event_name: str | None = None
    value: Decimal
    properties: dict[str, Any] = {}
    # Checked again here: a message queued before the bound existed may still be delivered.
    timestamp: int = Field(ge=EARLIEST_EVENT_MS, le=LAST_MS)
    overage: Literal["cap", "overflow"] = "cap"
    idempotency_key: str | None = None
    # The request that queued it, for the worker's log lines (`observability.correlated`).
    correlation_id: str | None = None


def send(body: str) -> None:
    """Queues one message body (a `QueuedUse` as JSON)."""
    queue_url = settings().track_queue_url
    if queue_url is None:
        raise InvalidRequest(
            "Async tracking is not configured for this deployment; track synchronously.",
            details=[{"field": "async", "message": "no usage queue is configured"}],
        )
    sqs.send(queue_url, body)
