"""What every dashboard page shares: the request as the pages see it (session, form, query),
HTML answers with the security headers, the session cookie, the templates and the static
files served under content-hashed names."""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.shared.cookies import Cookie, SameSite
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from billing.dashboard import sessions
from billing.dashboard.forms import FormFields
from billing.dashboard.secret import session_secret

HERE = Path(__file__).parent
ROOT = "/dashboard"
STATIC = f"{ROOT}/static/"
# What a form may send: far more than any of ours needs, far less than would cost anything.
MOST_FORM_BYTES = 64 * 1024
MOST_FORM_FIELDS = 64

# No inline script or style, nothing from elsewhere, never framed: the pages' own files only.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@dataclass
class Request:
    """One request as the pages see it. `session` is None until the guard has read it."""

    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    host: str
    # Where the request comes from (API Gateway's source IP): what sign-in throttles.
    source: str = ""
    session: sessions.Session | None = None
    # A session the answer must set (a new anonymous one, or one just signed in or out).
    new_cookie: str | None = None

    @classmethod
    def of(cls, event: APIGatewayProxyEventV2) -> Request:
        method = event.request_context.http.method.upper()
        return cls(
            method=method,
            path=event.raw_path,
            query={k: v for k, v in (event.query_string_parameters or {}).items() if v},
            form=_form(event) if method == "POST" else {},
            host=(event.headers or {}).get("host", ""),
            source=event.request_context.http.source_ip or "",
        )

    @property
    def on_localhost(self) -> bool:
        try:
            name = urlsplit(f"//{self.host}").hostname
        except ValueError:
            return False
        return name in ("localhost", "127.0.0.1", "::1")

    def csrf(self) -> str:
        assert self.session is not None
        return sessions.csrf_token(session_secret(), self.session)


def cookie_from(cookies: list[str] | None) -> str | None:
    for cookie in cookies or []:
        name, _, value = cookie.partition("=")
        if name.strip() == sessions.COOKIE:
            return value.strip()
    return None


def _form(event: APIGatewayProxyEventV2) -> FormFields:
    """The urlencoded form, first value of each field (those sent more than once named, for
    `forms.parsed` to refuse); anything else reads as empty."""
    try:
        body = event.decoded_body or ""
    except (ValueError, UnicodeDecodeError):
        return FormFields()
    if len(body) > MOST_FORM_BYTES:
        return FormFields()
    try:
        pairs = parse_qsl(body, keep_blank_values=True, max_num_fields=MOST_FORM_FIELDS)
    except ValueError:
        return FormFields()
    form = FormFields()
    for name, value in pairs:
        form.setdefault(name, value)
    names = [name for name, _ in pairs]
    form.repeated = frozenset(name for name in names if names.count(name) > 1)
    return form


def page(request: Request, template: str, status: int = 200, **context: Any) -> Response[str]:
    signed_in = request.session is not None and request.session.signed_in
    html = _render(
        template,
        csrf=request.csrf() if request.session is not None else "",
        signed_in=signed_in,
        asset=asset_url,
        link=link,
        **{"error": None, "done": None, **context},
    )
    return finish(request, Response(status, "text/html; charset=utf-8", html))


def _render(template: str, **context: Any) -> str:
    return templates().get_template(template).render(**context)


def redirect(request: Request, to: str) -> Response[str]:
    """303: the browser follows with a GET, so a reload never posts the form again."""
    return finish(request, Response(303, "text/plain; charset=utf-8", "", {"Location": to}))


def finish(request: Request, response: Response[str]) -> Response[str]:
    response.headers.update(SECURITY_HEADERS)
    response.headers.setdefault("Cache-Control", "no-store")
    if request.new_cookie is not None:
        response.cookies.append(_cookie(request, request.new_cookie))
    return response


def _cookie(request: Request, value: str) -> Cookie:
    return Cookie(
        name=sessions.COOKIE,
        value=value,
        path=ROOT,
        # Plain http on the operator's own machine; https everywhere else.
        secure=not request.on_localhost,
        http_only=True,
        same_site=SameSite.STRICT_MODE,
        max_age=sessions.LIFETIME_MS // 1000 if value else 0,
    )


def link(path: str, **query: Any) -> str:
    """A dashboard URL with its query string (values None or empty left out)."""
    kept = {k: str(v) for k, v in query.items() if v is not None and v != ""}
    return f"{ROOT}{path}" + (f"?{urlencode(kept)}" if kept else "")


@cache
def templates() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html", "svg"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(num=_number, day=_day, iso=_iso)
    return environment


def _number(value: Decimal | int | None) -> str:
    """Exact, without exponent or trailing zeros: 1000, 0.5."""
    if value is None:
        return ""
    return f"{Decimal(value).normalize():f}"


def _moment(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _day(ms: int | None) -> str:
    return "—" if ms is None else _moment(ms).strftime("%Y-%m-%d %H:%M UTC")


def _iso(ms: int) -> str:
    return _moment(ms).isoformat()


@dataclass(frozen=True)
class Asset:
    url_name: str
    body: bytes
    content_type: str


@cache
def assets() -> dict[str, Asset]:
    """Our static files by their served name: the content's hash in it, so a name is never
    reused for other content and browsers may keep each for a year."""
    found = {}
    for path in sorted((HERE / "static").iterdir()):
        if path.suffix not in (".css", ".js"):
            continue
        body = path.read_bytes()
        digest = hashlib.sha256(body).hexdigest()[:16]
        content_type = mimetypes.types_map.get(path.suffix, "application/octet-stream")
        found[path.name] = Asset(f"{digest}-{path.name}", body, f"{content_type}; charset=utf-8")
    return found


def asset_url(name: str) -> str:
    return f"{STATIC}{assets()[name].url_name}"


def static_file(url_name: str) -> Response[str] | None:
    asset = next((a for a in assets().values() if a.url_name == url_name), None)
    if asset is None:
        return None
    headers = {
        **SECURITY_HEADERS,
        "Cache-Control": "public, max-age=31536000, immutable",
    }
    return Response(200, asset.content_type, asset.body.decode(), headers)
