"""The application events' outbox sweeper (EventBridge, every minute): events that a function
kept in the outbox but SQS never took are sent again (`services.app_webhooks.outbox`).

Emits `AppEventsOutboxAge`: how long (ms) the oldest event still waiting after the sweep
has waited; its alarm (README, Runbook) fires when events stop leaving the outbox.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.observability import count, milliseconds, observed
from billing.services.app_webhooks.outbox import sweep

# Time kept back to remove what was just sent (ms).
RESERVE_MS = 10_000


@observed("app_events.sweeper")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Older than any publishing function takes from keeping an event to queueing it.
    min_age_ms = int(float(os.environ.get("OUTBOX_MIN_AGE_S", "60")) * 1000)
    swept = sweep(min_age_ms, more_time=lambda: context.get_remaining_time_in_millis() > RESERVE_MS)
    count("AppEventsResent", swept.resent)
    milliseconds("AppEventsOutboxAge", swept.oldest_left_ms)
    return {"resent": swept.resent, "oldest_left_s": swept.oldest_left_ms // 1000}
