"""Deployment settings, read from the environment once per cold start and validated.

Nothing that matters in production has a silent default: a missing table name or API key
hash fails the cold start loudly instead of serving requests wrongly.
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from billing.domain.environment import Environment, environment_of

_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    table_name: str = Field(min_length=3)
    dynamodb_endpoint_url: str | None = None
    # SHA-256 hex digests of the accepted secret keys: the keys themselves are never stored.
    api_key_hashes: frozenset[str]
    # Either the key itself (local stack, CI) or a Secrets Manager secret holding it (AWS).
    stripe_secret_key: SecretStr | None = None
    stripe_secret_arn: str | None = None
    # Points the stripe SDK at the local emulator instead of Stripe.
    stripe_api_base: str | None = None
    # "test" or "live": which Stripe mode the key is for, known without fetching the key.
    stripe_mode: Literal["test", "live"] | None = None
    # The currency plan prices are charged in (ISO code, lowercase, as Stripe wants it).
    currency: str = Field(default="usd", pattern=r"^[a-z]{3}$")
    # Where Checkout sends a customer back when the attach call names no success_url.
    checkout_success_url: str | None = None
    idempotency_ttl_seconds: int = Field(default=24 * 3600, gt=0)
    # How long an unfinished request holds its Idempotency-Key before a retry may take over.
    idempotency_lock_seconds: int = Field(default=30, gt=0)
    # Where `track` with `async: true` queues usage (SQS), and the local stack's endpoint.
    track_queue_url: str | None = None
    # Where a deleted customer's usage events are queued for removal in the background.
    purge_queue_url: str | None = None
    sqs_endpoint_url: str | None = None

    @field_validator("api_key_hashes")
    @classmethod
    def _hashes_look_like_sha256(cls, hashes: frozenset[str]) -> frozenset[str]:
        if not hashes:
            raise ValueError("at least one API key hash is required")
        bad = [h for h in hashes if not _SHA256_HEX.match(h)]
        if bad:
            raise ValueError("API key hashes must be lowercase SHA-256 hex digests")
        return hashes

    @model_validator(mode="after")
    def _stripe_mode_is_known(self) -> Settings:
        # Stripe itself is optional here (check and track never call it: see
        # `stripe_secret_key`), but a secret held elsewhere needs its mode for `environment`.
        held_elsewhere = self.stripe_secret_arn is not None and self.stripe_secret_key is None
        if held_elsewhere and self.stripe_mode is None:
            raise ValueError("STRIPE_MODE (test or live) is required with STRIPE_SECRET_ARN")
        return self

    @property
    def environment(self) -> Environment:
        """A deployment is one environment: the Stripe key's mode decides which."""
        if self.stripe_secret_key is not None:
            return environment_of(self.stripe_secret_key.get_secret_value())
        if self.stripe_mode is None:
            return environment_of(None)  # no Stripe at all: nothing can be charged
        return "sandbox" if self.stripe_mode == "test" else "live"


def settings_from(environ: dict[str, str] | os._Environ[str]) -> Settings:
    hashes = environ.get("API_KEY_HASHES", "")
    return Settings(
        table_name=environ.get("TABLE_NAME", ""),
        dynamodb_endpoint_url=environ.get("DYNAMODB_ENDPOINT_URL") or None,
        api_key_hashes=frozenset(h.strip() for h in hashes.split(",") if h.strip()),
        stripe_secret_key=environ.get("STRIPE_SECRET_KEY") or None,
        stripe_secret_arn=environ.get("STRIPE_SECRET_ARN") or None,
        stripe_api_base=environ.get("STRIPE_API_BASE") or None,
        stripe_mode=environ.get("STRIPE_MODE") or None,
        currency=environ.get("BILLING_CURRENCY") or "usd",
        checkout_success_url=environ.get("CHECKOUT_SUCCESS_URL") or None,
        track_queue_url=environ.get("TRACK_QUEUE_URL") or None,
        purge_queue_url=environ.get("PURGE_QUEUE_URL") or None,
        sqs_endpoint_url=environ.get("SQS_ENDPOINT_URL") or None,
    )


class StripeNotConfigured(RuntimeError):
    """A function that calls Stripe was deployed without a way to reach it."""


@cache
def settings() -> Settings:
    return settings_from(os.environ)


@cache
def stripe_secret_key() -> str:
    """The Stripe secret key, fetched at most once per container and only when first needed."""
    configured = settings()
    if configured.stripe_secret_key is not None:
        return configured.stripe_secret_key.get_secret_value()
    if configured.stripe_secret_arn is None:
        raise StripeNotConfigured("set STRIPE_SECRET_KEY or STRIPE_SECRET_ARN")
    import boto3  # only functions that talk to Stripe pay for this client

    client = boto3.client("secretsmanager")
    secret = client.get_secret_value(SecretId=configured.stripe_secret_arn)
    return str(json.loads(secret["SecretString"])["stripe_secret_key"])


def reset_caches() -> None:
    """Forget cached settings (tests and the local stack change the environment)."""
    settings.cache_clear()
    stripe_secret_key.cache_clear()
