"""The application's webhook endpoints, how a delivery is signed, and when it is tried again.

Signing is the Standard Webhooks scheme (what Svix signs Autumn's webhooks with): the
signature is the base64 HMAC-SHA256 of `<id>.<timestamp>.<body>` keyed with the secret's
bytes (the base64 after `whsec_`), sent as `v1,<signature>`. The same three values go out
under the `webhook-*` and the `svix-*` header names, so either library verifies them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
from typing import NamedTuple
from urllib.parse import urlsplit

SECRET_PREFIX = "whsec_"  # noqa: S105 (the prefix, not a secret)


class Endpoint(NamedTuple):
    id: str
    url: str
    # The event types it receives; empty: every type.
    events: tuple[str, ...]
    description: str | None
    disabled: bool
    secret: str
    created_at: int
    updated_at: int

    def wants(self, event_type: str) -> bool:
        return not self.disabled and (not self.events or event_type in self.events)


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def signature(secret: str, message_id: str, timestamp_s: int, body: str) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp_s}.{body}".encode()
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signed_headers(secret: str, message_id: str, timestamp_s: int, body: str) -> dict[str, str]:
    """The headers of one delivery: the signature under both scheme's names."""
    signed = signature(secret, message_id, timestamp_s, body)
    headers = {"content-type": "application/json"}
    for prefix in ("webhook", "svix"):
        headers[f"{prefix}-id"] = message_id
        headers[f"{prefix}-timestamp"] = str(timestamp_s)
        headers[f"{prefix}-signature"] = signed
    return headers


def next_attempt_delay(attempt: int, delays: tuple[int, ...]) -> int | None:
    """Seconds before try `attempt + 1` after try `attempt` (1-based) failed; None: give up."""
    return delays[attempt - 1] if attempt <= len(delays) else None


# Where an application's endpoint may be: a public https URL, or any http(s) URL on a host the
# deployment lists (a private receiver, or loopback on the local stack). Never anything else:
# the delivery worker runs inside the deployment, next to what must stay unreachable.


def url_problem(
    url: str, allowed_hosts: frozenset[str], runtime_api_host: str | None
) -> str | None:
    """What is wrong with an endpoint URL as registered, or None. A host name is checked
    again, resolved, at each delivery (`address_problem`)."""
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return "must not contain spaces or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "must be an http(s) URL"
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return "must not carry a user name or password"
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        return "must name a host"
    if port == 0:
        return "must name a valid port"
    if runtime_api_host is not None and host == runtime_api_host.lower():
        return "must not be the function's own runtime API"
    if host in allowed_hosts:
        return None
    if parts.scheme != "https":
        return "must be https (plain http only to a host the deployment allows)"
    literal = _ip(host)
    if literal is not None and is_internal(literal):
        return "must not be an internal, private or link-local address"
    if host == "localhost" or host.endswith((".localhost", ".internal", ".local")):
        return "must not be an internal host name"
    return None


def address_problem(host: str, addresses: list[str], allowed_hosts: frozenset[str]) -> str | None:
    """Why a delivery must not go to `host`, which resolved to `addresses` now, or None."""
    if host.rstrip(".").lower() in allowed_hosts:
        return None
    if not addresses:
        return "resolves to no address"
    for text in addresses:
        address = _ip(text)
        if address is None or is_internal(address):
            return "resolves to an internal address"
    return None


def is_internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Loopback, private, link-local (cloud metadata), unspecified, multicast, reserved,
    shared (CGNAT) and documentation ranges, and their IPv4-mapped IPv6 forms."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return is_internal(mapped)
    return not address.is_global or address.is_multicast


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.split("%")[0])
    except ValueError:
        return None
