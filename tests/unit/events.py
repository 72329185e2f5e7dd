"""Fake API Gateway HTTP API (payload v2) events, as the Lambda functions receive them."""

from __future__ import annotations

import base64

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2


def api_event(body: str | bytes | None, *, base64_encoded: bool = False) -> APIGatewayProxyEventV2:
    """An event carrying `body`; bytes are sent base64-encoded, as API Gateway does."""
    if isinstance(body, bytes):
        body, base64_encoded = base64.b64encode(body).decode(), True
    return APIGatewayProxyEventV2(
        {
            "version": "2.0",
            "routeKey": "POST /v1/customers.get_or_create",
            "rawPath": "/v1/customers.get_or_create",
            "headers": {"content-type": "application/json"},
            "body": body,
            "isBase64Encoded": base64_encoded,
        }
    )
