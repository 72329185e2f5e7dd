"""Plans and features, read-only: the catalog file stays the way to change them."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from billing.dashboard.web import Request, page
from billing.services.catalog.features import list_features
from billing.services.catalog.plans import list_plans


def show(request: Request) -> Response[str]:
    return page(
        request,
        "catalog.html",
        plans=list_plans(include_archived=True, all_versions=True),
        features=list_features(),
    )
