"""Signing in with a secret key the API accepts (checked against the same hashes), and out."""

from __future__ import annotations

import hashlib

from aws_lambda_powertools.event_handler import Response

from billing import clock
from billing.api.auth import authenticate
from billing.config import settings
from billing.dashboard import sessions
from billing.dashboard.forms import SignInForm, parsed
from billing.dashboard.secret import session_secret
from billing.dashboard.web import Request, link, page, redirect
from billing.domain.errors import InvalidRequest, Unauthorized
from billing.store import dashboard_sessions

WRONG_KEY = "That key is not one this deployment accepts."
# Wrong keys a source may try within WINDOW_MS; the last of them locks it out for LOCK_MS,
# whatever it sends then (the right key too), so keys cannot be guessed at speed.
MOST_WRONG_KEYS = 5
WINDOW_MS = 15 * 60 * 1000
LOCK_MS = 15 * 60 * 1000


def show(request: Request) -> Response[str]:
    if request.session is not None and request.session.signed_in:
        return redirect(request, link("/customers"))
    return page(request, "sign_in.html")


def sign_in(request: Request) -> Response[str]:
    try:
        key = parsed(SignInForm, request.form).secret_key
    except InvalidRequest as refused:
        return page(request, "sign_in.html", status=400, error=refused.message)
    now = clock.now_ms()
    locked = dashboard_sessions.locked_until(request.source, now)
    if locked is not None:
        minutes = -(-(locked - now) // 60_000)
        error = f"Too many wrong keys from here: try again in {minutes} minutes."
        return page(request, "sign_in.html", status=429, error=error)
    try:
        authenticate(f"Bearer {key}", settings().api_key_hashes)
    except Unauthorized:
        dashboard_sessions.note_wrong_key(
            request.source, now, most=MOST_WRONG_KEYS, window_ms=WINDOW_MS, lock_ms=LOCK_MS
        )
        return page(request, "sign_in.html", status=401, error=WRONG_KEY)
    digest = hashlib.sha256(key.encode()).hexdigest()
    session = sessions.signed_in(session_secret(), digest, clock.now_ms())
    dashboard_sessions.open_session(session.nonce, session.expires_at)
    request.session = session
    request.new_cookie = sessions.encode(session_secret(), session)
    return redirect(request, link("/customers"))


def sign_out(request: Request) -> Response[str]:
    if request.session is not None and request.session.signed_in:
        dashboard_sessions.close_session(request.session.nonce)
    request.session = None
    request.new_cookie = ""  # an empty cookie that expires at once
    return redirect(request, link("/sign-in"))
