"""The resolver factory: every function's app authenticates, honours Idempotency-Key, and
answers errors the same way."""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from pydantic import BaseModel

from billing import numbers, observability
from billing.api import body
from billing.api.auth import authenticate, iam_caller
from billing.api.errors import error_response, unexpected_error_response
from billing.config import settings
from billing.domain.errors import BillingError, InvalidRequest, RouteNotFound, StoreUnavailable
from billing.observability import logger

_MAX_IDEMPOTENCY_KEY = 255

Middleware = Callable[[APIGatewayHttpResolver, NextMiddleware], Response[str]]


def make_app(*, idempotency: bool = True) -> APIGatewayHttpResolver:
    """An app for the application's routes: a Bearer key, or an IAM caller API Gateway
    verified (ApiAuth=iam), required. `idempotency=False` for
    read-only routes (nothing to make idempotent) and for routes that keep their
    Idempotency-Key in their own transaction (track, check)."""
    return _app([_authenticated, _idempotent] if idempotency else [_authenticated])


def make_unauthenticated_app() -> APIGatewayHttpResolver:
    """An app for routes whose callers prove themselves another way (Stripe signs each
    webhook's body with the endpoint's secret): no Bearer key, no Idempotency-Key header
    (such a route dedupes on its own ids), errors answered as on every other route."""
    return _app([])


def _app(middlewares: list[Middleware]) -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver()
    if middlewares:
        app.use(middlewares=middlewares)
    app.exception_handler(BillingError)(error_response)
    app.exception_handler(Exception)(unexpected_error_response)
    app.not_found(lambda _: error_response(RouteNotFound()))
    return app


def replayed(body: str, status: int = 200) -> Response[str]:
    """The stored answer of the first call with this Idempotency-Key."""
    observability.count("IdempotentReplays")
    return Response(
        status_code=status,
        content_type="application/json",
        body=body,
        headers={"Idempotent-Replayed": "true"},
    )


def idempotency_key(app: APIGatewayHttpResolver) -> str | None:
    """The request's Idempotency-Key header, if any."""
    key = app.current_event.headers.get("idempotency-key")
    if key is not None and not (0 < len(key) <= _MAX_IDEMPOTENCY_KEY and key.isprintable()):
        raise InvalidRequest(
            "The Idempotency-Key header must be 1 to 255 printable characters.",
            details=[{"field": "Idempotency-Key", "message": "1 to 255 printable characters"}],
        )
    return key


# Track's body keys live apart from header keys (a prefix no printable key can start with):
# as in Autumn, the two are independent claims, and a body key never answers for a header's.
_BODY_KEY = "\x1fbody\x1f"


def idempotency_claims(app: APIGatewayHttpResolver, in_body: str | None) -> tuple[str, ...]:
    """Every key a request claims: its Idempotency-Key header and the body's
    `idempotency_key` (which the SDKs send for track), each its own claim."""
    header = idempotency_key(app)
    body_key = None if in_body is None else _BODY_KEY + in_body
    return tuple(key for key in (header, body_key) if key is not None)


def ok(model: BaseModel, status: int = 200) -> Response[str]:
    return Response(status_code=status, content_type="application/json", body=json_text(model))


def json_text(model: BaseModel) -> str:
    """The answer's JSON, its decimals written as exact numbers (pydantic writes strings)."""
    return numbers.dumps(model.model_dump())


def _authenticated(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[str]:
    # ApiAuth=iam: API Gateway verified the SigV4 signature and the caller's permission on
    # this route; the Authorization header then carries that signature, not a key.
    if iam_caller(app.current_event.raw_event) is None:
        authenticate(app.current_event.headers.get("authorization"), settings().api_key_hashes)
    return next_middleware(app)


def _idempotent(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[str]:
    key = idempotency_key(app)
    if key is None:
        return next_middleware(app)
    # Imported here so that routes called without a key never load the idempotency store.
    from billing.services import idempotency

    event = app.current_event
    fingerprint = idempotency.fingerprint(event.raw_path, body.canonical(event))
    replay = idempotency.begin(key, fingerprint)
    if replay is not None:
        return replayed(replay.body, replay.status)
    code = None
    try:
        response = next_middleware(app)
    except BillingError as error:
        response, code = error_response(error), error.code
    except Exception:
        idempotency.finish(key, fingerprint, 500, "", None)
        raise
    try:
        idempotency.finish(key, fingerprint, response.status_code, str(response.body or ""), code)
    except StoreUnavailable:
        # The work is done and answered; only its record for retries is not. The key's lock
        # lapses on its own (a retry meanwhile is told the key is in progress).
        logger.warning("an idempotent answer was not kept", extra={"status": response.status_code})
    return response
