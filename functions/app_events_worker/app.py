"""The application's webhooks: SQS hands this worker the events `publish` queued, and the
retries it queued itself; each is posted, signed, to the endpoints that want it.

A message that could not be handled (the table or SQS unreachable) is named in the answer
(partial batch failure) and comes back; what it had already delivered is not posted again.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.api.wire.app_events import event_payload
from billing.observability import correlated, count, logger, observed
from billing.services.app_webhooks import delivery as app_webhook_delivery


@observed("app_events.worker")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    failed: list[str] = []
    for record in event.get("Records", []):
        message = app_webhook_delivery.parse(record["body"])
        if message is None:
            # Not something we queued: it alone goes back, on to the dead-letter queue.
            failed.append(record["messageId"])
            continue
        # Its lines carry the correlation id of the request that caused the event.
        with correlated(message.correlation_id):
            try:
                app_webhook_delivery.handle(message, event_payload, post=counted_post)
            except Exception:
                logger.exception(
                    "an application event will be handled again", extra={"id": message.id}
                )
                failed.append(record["messageId"])
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}


def counted_post(url: str, body: str, headers: dict[str, str]) -> bool:
    """One post to an application's endpoint, counted by whether it took it."""
    delivered = app_webhook_delivery.post_json(url, body, headers)
    count("AppWebhookDeliveries", outcome="delivered" if delivered else "failed")
    return delivered
