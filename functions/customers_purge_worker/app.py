"""The purge worker: SQS hands it deleted customers whose usage events and invoices are to
be removed.

Work left when the function's time runs short goes back on the queue as a new message, so
a customer with years of events is removed over several runs, never retried from the start.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from billing import purge_queue
from billing.observability import correlated, logger, observed
from billing.purge_queue import PurgeRequest
from billing.services.customers.purge import purge

# Time kept back for handing the rest on (ms).
RESERVE_MS = 10_000


@observed("customers.purge_worker")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    failed: list[str] = []
    for record in event.get("Records", []):
        try:
            request = PurgeRequest.model_validate_json(record["body"])
        except ValidationError:
            failed.append(record["messageId"])  # not ours: the dead-letter queue keeps it
            continue
        with correlated(request.correlation_id):
            rest = purge(
                request, more_time=lambda: context.get_remaining_time_in_millis() > RESERVE_MS
            )
            if rest is not None:
                purge_queue.send(rest)
            logger.debug("a purge ran", extra={"finished": rest is None})
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}
