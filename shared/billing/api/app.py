"""The resolver factory: every function's app authenticates, honours Idempotency-Key, and
answers errors the same way."""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from pydantic import BaseModel

from billing.api import body
from billing.api.auth import authenticate
from billing.api.errors import error_response, unexpected_error_response
from billing.config import settings
from billing.domain.errors import BillingError, InvalidRequest, RouteNotFound

_MAX_IDEMPOTENCY_KEY = 255

Middleware = Callable[[APIGatewayHttpResolver, NextMiddleware], Response[str]]


def make_app(*, idempotency: bool = True) -> APIGatewayHttpResolver:
    """An app for the application's routes: Bearer key required. `idempotency=False` for
    read-only routes (nothing to make idempotent) and for routes that keep their
    Idempotency-Key in their own transaction (track)."""
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
    return Response(
        status_code=status,
        content_type="application/json",
        body=body,
        headers={"Idempotent-Replayed": "true"},
    )


def idempotency_key(app: APIGatewayHttpResolver) -> str | None:
    key = app.current_event.headers.get("idempotency-key")
    if key is not None and not (0 < len(key) <= _MAX_IDEMPOTENCY_KEY and key.isprintable()):
        raise InvalidRequest(
            "The Idempotency-Key header must be 1 to 255 printable characters.",
            details=[{"field": "Idempotency-Key", "message": "1 to 255 printable characters"}],
        )
    return key


def ok(model: BaseModel, status: int = 200) -> Response[str]:
    return Response(
        status_code=status, content_type="application/json", body=model.model_dump_json()
    )


def _authenticated(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[str]:
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
    try:
        response = next_middleware(app)
    except BillingError as error:
        response = error_response(error)
    except Exception:
        idempotency.finish(key, fingerprint, 500, "")
        raise
    idempotency.finish(key, fingerprint, response.status_code, str(response.body or ""))
    return response
