"""The usage worker: SQS hands it batches of uses queued by `balances.track` (`async: true`).

Uses of one customer are applied together; the answer names only the messages to deliver
again (partial batch failure), so uses already applied are not queued a second time.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from billing.observability import count, logger, observed
from billing.services.balances.apply_queued import apply_queued
from billing.track_queue import QueuedUse


@observed("balances.track_worker")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = event.get("Records", [])
    message_of: dict[str, str] = {}
    uses: list[QueuedUse] = []
    unreadable: list[str] = []
    for record in records:
        try:
            use = QueuedUse.model_validate_json(record["body"])
        except ValidationError:
            # Not something we queued, or a use no retry can apply (a time past year 9999): it
            # alone goes back, on to the dead-letter queue that keeps it; the others go on.
            unreadable.append(record["messageId"])
            continue
        # A message sent twice (a retried Idempotency-Key) is one use: apply it once.
        if use.event_id not in message_of:
            uses.append(use)
        message_of.setdefault(use.event_id, record["messageId"])
    failed = apply_queued(uses)
    retry = unreadable + [message_of[event_id] for event_id in sorted(failed)]
    count("QueuedUses", len(uses) - len(failed), outcome="applied")
    if retry:
        count("QueuedUses", len(retry), outcome="retried")
        logger.warning("some queued uses will be delivered again", extra={"messages": len(retry)})
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in retry]}
