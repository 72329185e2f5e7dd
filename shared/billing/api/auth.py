"""Bearer secret keys, checked against the deployment's SHA-256 digests in constant time."""

from __future__ import annotations

import hashlib
import hmac

from billing.domain.errors import Unauthorized


def authenticate(authorization: str | None, accepted_hashes: frozenset[str]) -> None:
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized
    digest = hashlib.sha256(token.strip().encode()).hexdigest()
    # Compare against every hash, with no early exit, so timing says nothing about the keys.
    matches = [hmac.compare_digest(digest, accepted) for accepted in accepted_hashes]
    if not any(matches):
        raise Unauthorized
