"""Request bodies: size-limited, strict JSON, validated by a pydantic wire model."""

from __future__ import annotations

import base64
import binascii
import json
import math
from decimal import Decimal
from typing import Any, TypeVar

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from pydantic import BaseModel, ValidationError

from billing import observability
from billing.api.wire.common import json_depth
from billing.domain.errors import InvalidRequest, PayloadTooLarge

# The largest request body a route takes (413 above it). Every route's largest legitimate
# body (a plan with its items, a track's properties, customer metadata) is far below it; a
# queued track must fit one SQS message (256 KiB) and a remembered answer one DynamoDB item
# (400 KB); and a bound known before parsing keeps a caller from making a function spend
# its memory and time on one request.
MAX_BODY_BYTES = 256 * 1024
# No route takes JSON nested deeper than this (caller JSON inside a body nests at most 32):
# refused before validation, so no deep structure reaches a model or the store.
MOST_BODY_DEPTH = 48

Model = TypeVar("Model", bound=BaseModel)


def raw_body(event: APIGatewayProxyEventV2, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body's bytes, refused (413) over `limit` before anything reads it as JSON or
    decodes its base64."""
    body = event.get("body") or ""
    encoded = bool(event.get("isBase64Encoded"))
    # Bounds from the length as received: base64 grows 4/3, and UTF-8 is at least one byte
    # a character, so a longer body is too large whatever it decodes to.
    if len(body) > (_base64_length(limit) if encoded else limit):
        raise _too_large(limit)
    try:
        data = base64.b64decode(body, validate=True) if encoded else body.encode()
    except (binascii.Error, ValueError) as error:
        raise InvalidRequest("The request body is not valid base64.") from error
    if len(data) > limit:
        raise _too_large(limit)
    return data


def _base64_length(size: int) -> int:
    """The length of `size` bytes in base64 (padded): no longer body decodes to `size` or less."""
    return 4 * -(-size // 3)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The request body is larger than {limit} bytes.",
        details=[{"field": "body", "message": f"at most {limit} bytes"}],
    )


def json_body(event: APIGatewayProxyEventV2) -> dict[str, Any]:
    data = raw_body(event)
    if not data.strip():
        return {}
    try:
        parsed = json.loads(data, parse_constant=_reject_constant, parse_float=_exact_number)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise InvalidRequest(
            "The request body is not valid JSON.",
            details=[{"field": "body", "message": "expected a JSON object"}],
        ) from error
    if not isinstance(parsed, dict):
        raise InvalidRequest(
            "The request body must be a JSON object.",
            details=[{"field": "body", "message": "expected a JSON object"}],
        )
    if json_depth(parsed) > MOST_BODY_DEPTH:
        raise InvalidRequest(
            f"The request body nests more than {MOST_BODY_DEPTH} levels deep.",
            details=[{"field": "body", "message": f"at most {MOST_BODY_DEPTH} levels deep"}],
        )
    return parsed


def parse(model: type[Model], event: APIGatewayProxyEventV2) -> Model:
    payload = json_body(event)
    try:
        parsed = model.model_validate(payload)
    except ValidationError as error:
        raise InvalidRequest(
            "The request has invalid fields.",
            details=[
                {
                    "field": ".".join(str(part) for part in issue["loc"]) or "body",
                    "message": issue["msg"],
                    "type": issue["type"],
                }
                for issue in error.errors(include_url=False, include_input=False)
            ],
        ) from None
    # The request's later log lines name the customer it is about (validated: a caller's
    # string lands in every line only once the model has bounded it).
    observability.about_customer(getattr(parsed, "customer_id", None))
    return parsed


def canonical(event: APIGatewayProxyEventV2) -> bytes:
    """The body in one canonical form, so that formatting never changes its fingerprint."""
    data = raw_body(event)
    try:
        return json.dumps(json.loads(data), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):  # not JSON: its bytes are its own canonical form
        return data


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not allowed")


def _exact_number(text: str) -> Decimal:
    """A fraction as the exact decimal written (0.1 stays 0.1, never a binary float). A
    number that any float reader would take for infinity (1e999) is refused like Infinity."""
    value = Decimal(text)
    if not math.isfinite(float(value)):
        raise ValueError("number out of range")
    return value
