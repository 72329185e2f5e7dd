"""The billing audit's last complete report: when it ran, how much drift it found, and the
customers it found drift for (the scheduled audit function writes it)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from billing.dashboard.web import Request, page
from billing.domain.audit import INVARIANTS
from billing.services.billing.audit import last_report


def show(request: Request) -> Response[str]:
    return page(request, "audit.html", report=last_report(), invariants=INVARIANTS)
