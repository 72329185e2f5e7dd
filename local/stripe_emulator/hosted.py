"""The look of the emulator's hosted pages (checkout, customer portal): plain, test-friendly
HTML whose forms a browser or an HTTP client posts back."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from html import escape

from local.stripe_emulator.routing import PageResponse

# Currencies Stripe counts in whole units (no minor unit).
_ZERO_DECIMAL = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv"}
    | {"xaf", "xof", "xpf"}
)


def money(amount: int | None, currency: str | None) -> str:
    if amount is None or currency is None:
        return ""
    if currency in _ZERO_DECIMAL:
        return f"{amount} {currency.upper()}"
    return f"{Decimal(amount) / 100:.2f} {currency.upper()}"


def date(epoch_s: int | None) -> str:
    """A Stripe timestamp (seconds) as a person reads it, e.g. "December 6, 2026" (UTC), in
    a <time> element that keeps the exact instant."""
    if epoch_s is None:
        return ""
    at = datetime.fromtimestamp(epoch_s, UTC)
    return f"<time datetime='{at.isoformat()}'>{at:%B} {at.day}, {at.year}</time>"


def page(title: str, body: str, status: int = 200) -> PageResponse:
    html = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title></head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return status, html, {}


def redirect(location: str) -> PageResponse:
    return 303, "", {"Location": location}


def error(message: str) -> str:
    return f"<p class='error' role='alert'>{escape(message)}</p>"


def form(action: str, fields: str, button: str, *, hidden: dict[str, str] | None = None) -> str:
    inputs = "".join(
        f"<input type='hidden' name='{escape(name)}' value='{escape(value)}'>"
        for name, value in (hidden or {}).items()
    )
    return (
        f"<form method='post' action='{escape(action)}'>{inputs}{fields}"
        f"<button type='submit'>{escape(button)}</button></form>"
    )


def card_input() -> str:
    return (
        "<label>Card number <input name='card_number' autocomplete='cc-number' "
        "placeholder='4242 4242 4242 4242'></label>"
    )
