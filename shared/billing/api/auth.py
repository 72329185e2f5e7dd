"""Who may call: a Bearer secret key checked against the deployment's SHA-256 digests in
constant time, or (ApiAuth=iam) the IAM principal API Gateway has already verified."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

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


def iam_caller(event: Mapping[str, Any]) -> str | None:
    """The ARN of the IAM principal whose SigV4 signature API Gateway checked, if it did.

    Only API Gateway writes `requestContext`, and it writes `authorizer.iam` only on a route
    behind its AWS_IAM authorizer, after the signature and the caller's execute-api:Invoke
    permission on that route both passed. A caller cannot put it there itself, so its
    presence is the proof, and such a call needs no Bearer key."""
    context = event.get("requestContext") or {}
    authorizer = context.get("authorizer") or {}
    iam = authorizer.get("iam") if isinstance(authorizer, Mapping) else None
    if not isinstance(iam, Mapping):
        return None
    arn = iam.get("userArn")
    return str(arn) if arn else None
