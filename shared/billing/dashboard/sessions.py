"""Session cookies and CSRF tokens: signed with the deployment's dashboard secret, pure.

A session is a random nonce, when it expires, and (once signed in) a tag of the secret key
the operator signed in with. Every visitor has one (anonymous before signing in) so that the
sign-in form, like every other form, carries a CSRF token bound to the browser: the token is
an HMAC of the nonce, so a page from another site can neither read nor forge it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable
from typing import NamedTuple

COOKIE = "dashboard_session"
LIFETIME_MS = 12 * 3600 * 1000
_VERSION = "v1"
# A cookie longer than this is not one of ours (browsers keep 4 KB per cookie).
_MAX_COOKIE = 1024


class Session(NamedTuple):
    nonce: str
    expires_at: int
    # HMAC tag of the SHA-256 digest of the key signed in with; None before signing in.
    key_tag: str | None = None

    @property
    def signed_in(self) -> bool:
        return self.key_tag is not None


def anonymous(now_ms: int) -> Session:
    return Session(nonce=secrets.token_urlsafe(18), expires_at=now_ms + LIFETIME_MS)


def signed_in(secret: bytes, key_digest: str, now_ms: int) -> Session:
    """A new session (a fresh nonce: the anonymous one is never promoted) for the operator
    holding the key with this SHA-256 digest."""
    return anonymous(now_ms)._replace(key_tag=_tag(secret, "key", key_digest))


def encode(secret: bytes, session: Session) -> str:
    payload = json.dumps(
        {"n": session.nonce, "e": session.expires_at, "k": session.key_tag},
        separators=(",", ":"),
    ).encode()
    body = f"{_VERSION}.{_b64(payload)}"
    return f"{body}.{_tag(secret, 'session', body)}"


def decode(
    secret: bytes, cookie: str | None, now_ms: int, accepted_hashes: Iterable[str]
) -> Session | None:
    """The session the cookie carries, or None when it is missing, malformed, tampered
    with, expired, or signed in with a key the deployment no longer accepts."""
    if not cookie or len(cookie) > _MAX_COOKIE or cookie.count(".") != 2:
        return None
    body, _, tag = cookie.rpartition(".")
    if not _same(tag, _tag(secret, "session", body)):
        return None
    version, _, payload = body.partition(".")
    try:
        values = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        nonce, expires_at, key_tag = values["n"], values["e"], values["k"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
    if not (isinstance(nonce, str) and type(expires_at) is int and isinstance(key_tag, str | None)):
        return None
    if version != _VERSION or expires_at <= now_ms:
        return None
    session = Session(nonce=nonce, expires_at=expires_at, key_tag=key_tag)
    if key_tag is not None and not any(
        _same(key_tag, _tag(secret, "key", digest)) for digest in accepted_hashes
    ):
        return None  # the key was rotated out: so are its sessions
    return session


def csrf_token(secret: bytes, session: Session) -> str:
    return _tag(secret, "csrf", session.nonce)


def csrf_valid(secret: bytes, session: Session | None, token: str | None) -> bool:
    if session is None or not token:
        return False
    return _same(token, csrf_token(secret, session))


def _same(given: str, expected: str) -> bool:
    """Constant-time, and safe for whatever text a request sends."""
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode())


def _tag(secret: bytes, purpose: str, message: str) -> str:
    """Each purpose its own key, so one kind of tag never passes for another."""
    mac = hmac.new(secret, f"{purpose}\x00{message}".encode(), hashlib.sha256).digest()
    return _b64(mac)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
