"""The only code that talks to SQS: one client per container, and sending a message.

The queues themselves (what a message holds, which queue) live in `track_queue`,
`purge_queue` and, for the application's webhooks, `services.app_webhooks.events`.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import botocore.session
from botocore.config import Config

from billing.config import settings
from billing.store.table import translated_errors

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


def send(queue_url: str, body: str, delay_s: int = 0) -> None:
    """Sends one message (handed out after `delay_s`, at most 900); a throttled or
    unreachable SQS is a retryable 503."""
    with translated_errors():
        _client().send_message(QueueUrl=queue_url, MessageBody=body, DelaySeconds=delay_s)


@cache
def _client() -> SQSClient:
    # botocore directly, as for DynamoDB: boto3's session layer is not needed for one client.
    sqs: SQSClient = botocore.session.get_session().create_client(  # type: ignore[assignment]
        "sqs",
        endpoint_url=settings().sqs_endpoint_url,
        config=Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=2),
    )
    return sqs
