"""The dashboard's routes. Every request passes the guard first: it reads the session (a new
anonymous one when there is none), refuses a POST without the session's CSRF token (403,
nothing changed) and sends a visitor who has not signed in to the sign-in page.

`make_app` builds a resolver per handler module (its request state is the instance's own).
"""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

from billing import clock
from billing.api.errors import status_of
from billing.config import settings
from billing.dashboard import sessions
from billing.dashboard.pages import attach, audit, catalog, customer, customers, sign_in
from billing.dashboard.secret import session_secret
from billing.dashboard.web import (
    ROOT,
    STATIC,
    Request,
    cookie_from,
    link,
    page,
    redirect,
    static_file,
)
from billing.domain.errors import BillingError
from billing.observability import logger
from billing.store import dashboard_sessions

View = Callable[[Request], Response[str]]

# Pages anyone may see: the rest need a signed-in session.
PUBLIC = {f"{ROOT}/sign-in"}
FORBIDDEN = (
    "This form has expired or did not come from this dashboard: nothing was changed. "
    "Open the page again and send it again."
)


def _home(request: Request) -> Response[str]:
    return redirect(request, link("/customers"))


ROUTES: list[tuple[str, str, View]] = [
    ("GET", "", _home),
    ("GET", "/sign-in", sign_in.show),
    ("POST", "/sign-in", sign_in.sign_in),
    ("POST", "/sign-out", sign_in.sign_out),
    ("GET", "/customers", customers.index),
    ("POST", "/customers", customers.create),
    ("GET", "/customer", customer.show),
    ("POST", "/customer/profile", customer.update_profile),
    ("POST", "/customer/plans", customer.enable),
    ("POST", "/customer/balances", customer.update_balances),
    ("POST", "/customer/cancel", customer.cancel),
    ("GET", "/customer/attach", attach.preview),
    ("POST", "/customer/attach", attach.confirm),
    ("GET", "/plans", catalog.show),
    ("GET", "/audit", audit.show),
]


def make_app() -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver()

    def current() -> Request:
        found = app.context.get("request")
        return found if isinstance(found, Request) else Request.of(app.current_event)

    def routed(view: View) -> Callable[[], Response[str]]:
        return lambda: view(current())

    for method, path, view in ROUTES:
        app.route(f"{ROOT}{path}", method=method)(routed(view))

    def not_found(_: Exception | None = None) -> Response[str]:
        return page(Request.of(app.current_event), "error.html", status=404, error="No page.")

    @app.get(f"{STATIC}<name>")
    def asset(name: str) -> Response[str]:
        return static_file(name) or not_found()

    def billing_error(error: BillingError) -> Response[str]:
        return page(current(), "error.html", status=status_of(error), error=error.message)

    def unexpected(_: Exception) -> Response[str]:
        logger.exception("dashboard request failed")
        return page(current(), "error.html", status=500, error="Something went wrong.")

    app.exception_handler(BillingError)(billing_error)
    app.exception_handler(Exception)(unexpected)

    app.not_found(not_found)
    app.use(middlewares=[_guard])
    return app


def _guard(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[str]:
    event = app.current_event
    if event.raw_path.startswith(STATIC):
        return next_middleware(app)
    request = Request.of(event)
    secret, now = session_secret(), clock.now_ms()
    hashes = settings().api_key_hashes
    request.session = sessions.decode(secret, cookie_from(event.cookies), now, hashes)
    # Signed in only while its record lasts: a sign-out deletes it.
    signed_in = request.session is not None and request.session.signed_in
    if signed_in and request.session and not dashboard_sessions.is_open(request.session.nonce):
        request.session = None
    if request.session is None:
        request.session = sessions.anonymous(now)
        request.new_cookie = sessions.encode(secret, request.session)
    app.context["request"] = request
    if request.method == "POST" and not sessions.csrf_valid(
        secret, request.session, request.form.get("csrf")
    ):
        return page(request, "error.html", status=403, error=FORBIDDEN)
    if not request.session.signed_in and request.path not in PUBLIC:
        return redirect(request, link("/sign-in"))
    return next_middleware(app)
