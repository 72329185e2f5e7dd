"""GET and POST /dashboard/...: the operator's dashboard, server-rendered HTML.

Jinja2 is this function's own dependency (requirements.txt here), not the layer's: no other
function, least of all check and track, loads it.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.dashboard.app import make_app
from billing.observability import observed

app = make_app()


@observed("dashboard")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
