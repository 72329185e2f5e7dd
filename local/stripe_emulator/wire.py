"""The HTTP side of an API request: the API key, the form-encoded parameters, the JSON
(or, for a hosted page's error, HTML) answer and an idempotent replay's headers."""

from __future__ import annotations

import base64
import binascii
import html
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from local.stripe_emulator import forms, shapes
from local.stripe_emulator.errors import StripeError, invalid_param
from local.stripe_emulator.idempotency import SavedResponse

_KEY_PREFIXES = ("sk_test_", "rk_test_")


@dataclass
class HttpResponse:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def authenticate(authorization: str | None) -> None:
    if not authorization:
        raise StripeError(
            401,
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
            "YOUR_SECRET_KEY').",
        )
    scheme, _, credentials = authorization.partition(" ")
    key = credentials.strip()
    if scheme.lower() == "basic":
        # curl -u sk_test_...: sends the key as a Basic username.
        try:
            key = base64.b64decode(key, validate=True).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            key = ""
    elif scheme.lower() != "bearer":
        key = ""
    if not key.startswith(_KEY_PREFIXES):
        shown = f"{key[:8]}{'*' * 8}{key[-4:]}" if len(key) > 12 else key
        raise StripeError(401, f"Invalid API Key provided: {shown}")


def decode_params(method: str, query: str, headers: Mapping[str, str], body: bytes) -> forms.Params:
    try:
        if method == "POST" and body:
            content_type = headers.get("content-type", "").split(";")[0].strip()
            if content_type != "application/x-www-form-urlencoded":
                raise invalid_param(
                    "Content-Type",
                    "Invalid request: v1 endpoints take application/x-www-form-urlencoded "
                    f"bodies, got {content_type or 'no Content-Type'}.",
                )
            return forms.parse_query(body.decode("utf-8"))
        return forms.parse_query(query)
    except forms.FormError as error:
        raise invalid_param(error.param, str(error)) from None
    except UnicodeDecodeError:
        raise invalid_param("body", "Invalid request: body is not UTF-8.") from None


def replay(
    saved: SavedResponse, key: str, method: str, path: str, fingerprint: str
) -> HttpResponse:
    if (saved.method, saved.path) != (method, path):
        raise StripeError(
            400,
            "Keys for idempotent requests can only be used for the same endpoint they were "
            f"first used for ('{saved.method} {saved.path}' vs '{method} {path}'). Try using a "
            f"key other than '{key}' if you meant to execute a different request.",
            error_type="idempotency_error",
        )
    if saved.fingerprint != fingerprint:
        raise StripeError(
            400,
            "Keys for idempotent requests can only be used with the same parameters they were "
            f"first used with. Try using a key other than '{key}' if you meant to execute a "
            "different request.",
            error_type="idempotency_error",
        )
    return HttpResponse(
        saved.status,
        saved.body,
        {
            "Idempotency-Key": key,
            "Idempotent-Replayed": "true",
            "Original-Request": saved.request_id,
        },
    )


def json_response(status: int, payload: Mapping[str, Any]) -> HttpResponse:
    body = json.dumps(shapes.conform(payload), indent=2)
    return HttpResponse(status, body.encode() + b"\n")


def html_response(status: int, title: str, message: str) -> HttpResponse:
    page = (
        f"<!doctype html><html><head><title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p></body></html>"
    )
    return HttpResponse(status, page.encode(), {"Content-Type": "text/html; charset=utf-8"})
