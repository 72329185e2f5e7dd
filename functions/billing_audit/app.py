"""The scheduled billing audit (EventBridge, hourly): every customer's holdings checked
against what Stripe bills (I1-I6, `billing.domain.audit`), read-only.

A complete audit runs once a day (AUDIT_EVERY_HOURS); one too large for a run stops between
pages and the next hourly run resumes it. A complete run logs its report, stores it for the
dashboard, and emits the metric `BillingDrift` (the number of drifts found; CloudWatch
embedded metric format, through `billing.observability`) beside `CustomersAudited`.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from billing import stripe_api
from billing.observability import count, logger, observed
from billing.services.billing.audit import scheduled_audit

# Time kept back to store the report of a run cut short (ms).
RESERVE_MS = 60_000
HOUR_MS = 3_600_000


@observed("billing.audit")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    every_ms = int(os.environ.get("AUDIT_EVERY_HOURS", "24")) * HOUR_MS
    report = scheduled_audit(
        stripe_api.get_gateway,
        every_ms=every_ms,
        more_time=lambda: context.get_remaining_time_in_millis() > RESERVE_MS,
    )
    if report is None:
        logger.info("billing audit not due yet")
        return {"audited": False}
    summary = {
        "customers_audited": report.customers_audited,
        "drift_count": report.drift_count,
        "complete": report.complete,
    }
    if not report.complete:
        logger.info("billing audit continues in the next run", extra=summary)
        return {"audited": True, **summary}
    for drift in report.drifts:
        logger.warning("billing drift", extra=drift.model_dump())
    logger.info("billing audit complete", extra=summary)
    count("BillingDrift", report.drift_count)
    count("CustomersAudited", report.customers_audited)
    return {"audited": True, **summary}
