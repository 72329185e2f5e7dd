"""The purge queue (SQS): a deleted customer's usage events and invoices are removed in the
background.

They are unreachable from the moment the customer is deleted (they live under its internal
id, found only through its profile); this queue only frees their storage, however much of it
there is, a function's time at a time.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from billing import sqs
from billing.config import settings


class PurgeRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # The internal id of the customer that is gone.
    owner: str
    # The earliest month (yyyymm) its events are in; None when it never used anything.
    since: str | None = None
    # The partition to go on from, when an earlier run ran out of time.
    resume_at: str | None = None
    # The request that deleted the customer, for the worker's log lines.
    correlation_id: str | None = None


def configured() -> bool:
    return settings().purge_queue_url is not None


def send(request: PurgeRequest) -> None:
    queue_url = settings().purge_queue_url
    assert queue_url is not None
    sqs.send(queue_url, request.model_dump_json())
