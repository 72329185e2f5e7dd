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
from billing.api.wire.common import NOT_SUPPORTED, json_depth
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
    _no_query(event)
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


def _no_query(event: APIGatewayProxyEventV2) -> None:
    """Every route takes its fields in the JSON body: a query parameter would be dropped
    unread, so it is a 400 naming it."""
    if not event.get("rawQueryString"):
        return
    names = sorted(event.get("queryStringParameters") or {}) or ["query string"]
    raise InvalidRequest(
        "This route takes its fields in the JSON body, not in the query string.",
        details=[
            {"field": name, "message": "a query parameter: not supported here"} for name in names
        ],
    )


# What an unknown field is told (pydantic's own words, "extra inputs are not permitted", say
# nothing of why).
_UNKNOWN_FIELD = "not supported here: this API does not take this field"


def parse(model: type[Model], event: APIGatewayProxyEventV2) -> Model:
    """The body validated by `model`; a 400 naming every field at fault otherwise (a path such
    as `items.0.price.amount`), an unknown field included."""
    payload = json_body(event)
    try:
        parsed = model.model_validate(payload)
    except ValidationError as error:
        issues = error.errors(include_url=False, include_input=False)
        details = [
            {
                "field": ".".join(str(part) for part in issue["loc"]) or "body",
                "message": _UNKNOWN_FIELD if issue["type"] == "extra_forbidden" else issue["msg"],
                "type": issue["type"],
            }
            for issue in issues
        ]
        unsupported = all(i["type"] in ("extra_forbidden", NOT_SUPPORTED) for i in issues)
        raise InvalidRequest(
            _unsupported_message(details) if unsupported else "The request has invalid fields.",
            details=details,
        ) from None
    # The request's later log lines name the customer it is about (validated: a caller's
    # string lands in every line only once the model has bounded it).
    observability.about_customer(getattr(parsed, "customer_id", None))
    return parsed


def _unsupported_message(details: list[dict[str, str]]) -> str:
    """Names the first few fields, for callers whose SDK shows only the message."""
    names = ", ".join(d["field"] for d in details[:3])
    more = f" and {len(details) - 3} more" if len(details) > 3 else ""
    return f"The request has fields this API does not support: {names}{more}."


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
