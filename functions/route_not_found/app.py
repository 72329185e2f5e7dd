"""API Gateway's $default route: every method and path no other route matches.

Without it API Gateway answers `{"message": "Not Found"}` itself, without the `code` every
other error of the API carries; this answers the API's own not-found error instead.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.api.app import make_unauthenticated_app
from billing.observability import observed

# No routes, so every request gets the app's not-found answer; no key is needed to learn
# that a route does not exist, as behind API Gateway without this route.
app = make_unauthenticated_app()


@observed("route_not_found")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
