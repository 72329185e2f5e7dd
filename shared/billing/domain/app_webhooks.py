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
import secrets
from typing import NamedTuple

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
