"""Deployment settings, read from the environment once per cold start and validated.

Nothing that matters in production has a silent default: a missing table name or API key
hash fails the cold start loudly instead of serving requests wrongly.
"""

import json
import os
import re
from functools import cache
from typing import Any, Literal

# botocore directly: boto3's session and resource layers are not needed for one client, and
# importing them is a good part of a cold start.
import botocore.session
from botocore.config import Config
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
    # The secret Stripe signs webhook events with (whsec_...): itself (local stack, CI), or
    # the `stripe_webhook_secret` field of the secret at `stripe_secret_arn` (AWS).
    stripe_webhook_secret: SecretStr | None = None
    # Points the stripe SDK at the local emulator instead of Stripe.
    stripe_api_base: str | None = None
    # "test" or "live": which Stripe mode the key is for, known without fetching the key.
    stripe_mode: Literal["test", "live"] | None = None
    # The currency plan prices are charged in (ISO code, lowercase, as Stripe wants it).
    currency: str = Field(default="usd", pattern=r"^[a-z]{3}$")
    # Where Checkout sends a customer back when the attach call names no success_url.
    checkout_success_url: str | None = None
    # The dashboard's public address (https://admin.example.com/dashboard): where Checkout
    # sends a customer back after an attach made from the dashboard.
    dashboard_base_url: str | None = Field(default=None, pattern=r"^https?://[^\s/]+(/\S*)?$")
    idempotency_ttl_seconds: int = Field(default=24 * 3600, gt=0)
    # How long an unfinished request holds its Idempotency-Key before a retry may take over.
    idempotency_lock_seconds: int = Field(default=30, gt=0)
    # How long a webhook delivery holds its Stripe event before another may take it over:
    # longer than the function's timeout, so a live delivery is never overtaken.
    stripe_event_lease_seconds: int = Field(default=60, gt=0)
    # How long a Stripe event id is remembered: well past Stripe's 3 days of retries.
    stripe_event_ttl_seconds: int = Field(default=30 * 24 * 3600, gt=0)
    # Where `track` with `async: true` queues usage (SQS), and the local stack's endpoint.
    track_queue_url: str | None = None
    # Where a deleted customer's usage events are queued for removal in the background.
    purge_queue_url: str | None = None
    sqs_endpoint_url: str | None = None
    # Where events for the application's webhooks are queued, and where deliveries that
    # failed every retry are kept (the delivery worker sends them there itself).
    app_events_queue_url: str | None = None
    app_events_dead_letter_queue_url: str | None = None
    # Seconds to wait before each retry of a failed delivery: Svix's schedule by default,
    # over a day in all; the local stack and tests shorten it.
    app_webhook_retry_delays: tuple[int, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
    # Hosts an application webhook may reach although internal (a private receiver), and by
    # plain http: none as deployed unless listed; the local stack lists loopback.
    app_webhook_allowed_hosts: frozenset[str] = frozenset()

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
    def _stripe_mode_is_known(self) -> "Settings":
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


def settings_from(environ: dict[str, str] | os._Environ[str]) -> "Settings":
    hashes = environ.get("API_KEY_HASHES", "")
    return Settings(
        table_name=environ.get("TABLE_NAME", ""),
        dynamodb_endpoint_url=environ.get("DYNAMODB_ENDPOINT_URL") or None,
        api_key_hashes=frozenset(h.strip() for h in hashes.split(",") if h.strip()),
        stripe_secret_key=environ.get("STRIPE_SECRET_KEY") or None,
        stripe_secret_arn=environ.get("STRIPE_SECRET_ARN") or None,
        stripe_webhook_secret=environ.get("STRIPE_WEBHOOK_SECRET") or None,
        stripe_api_base=environ.get("STRIPE_API_BASE") or None,
        stripe_mode=environ.get("STRIPE_MODE") or None,
        currency=environ.get("BILLING_CURRENCY") or "usd",
        checkout_success_url=environ.get("CHECKOUT_SUCCESS_URL") or None,
        dashboard_base_url=environ.get("DASHBOARD_BASE_URL") or None,
        track_queue_url=environ.get("TRACK_QUEUE_URL") or None,
        purge_queue_url=environ.get("PURGE_QUEUE_URL") or None,
        sqs_endpoint_url=environ.get("SQS_ENDPOINT_URL") or None,
        app_events_queue_url=environ.get("APP_EVENTS_QUEUE_URL") or None,
        app_events_dead_letter_queue_url=environ.get("APP_EVENTS_DEAD_LETTER_QUEUE_URL") or None,
        **_retry_delays(environ.get("APP_WEBHOOK_RETRY_DELAYS")),
        app_webhook_allowed_hosts=frozenset(
            host.strip().strip("[]").rstrip(".").lower()
            for host in environ.get("APP_WEBHOOK_ALLOWED_HOSTS", "").split(",")
            if host.strip()
        ),
    )


def _retry_delays(value: str | None) -> dict[str, tuple[int, ...]]:
    """`APP_WEBHOOK_RETRY_DELAYS`: comma-separated seconds; unset keeps the default."""
    if not value:
        return {}
    return {"app_webhook_retry_delays": tuple(int(part) for part in value.split(","))}


class StripeNotConfigured(RuntimeError):
    """A function that calls Stripe was deployed without a way to reach it."""


@cache
def settings() -> "Settings":
    return settings_from(os.environ)


@cache
def stripe_secret_key() -> str:
    """The Stripe secret key, fetched at most once per container and only when first needed."""
    configured = settings()
    if configured.stripe_secret_key is not None:
        return configured.stripe_secret_key.get_secret_value()
    return _held_secret("stripe_secret_key", "STRIPE_SECRET_KEY")


@cache
def stripe_webhook_secret() -> str:
    """The secret Stripe signs our webhook events with, fetched at most once per container."""
    configured = settings()
    if configured.stripe_webhook_secret is not None:
        return configured.stripe_webhook_secret.get_secret_value()
    return _held_secret("stripe_webhook_secret", "STRIPE_WEBHOOK_SECRET")


def _held_secret(field: str, variable: str) -> str:
    """One field of the Stripe secret in Secrets Manager (read once: `_stripe_secret`)."""
    if settings().stripe_secret_arn is None:
        raise StripeNotConfigured(f"set {variable} or STRIPE_SECRET_ARN")
    value = _stripe_secret().get(field)
    if not value:
        # Deployed before the webhook endpoint existed: every delivery fails (5xx) and
        # Stripe retries until the secret is set, so no event is lost meanwhile.
        raise StripeNotConfigured(f"the Stripe secret has no {field}")
    return str(value)


@cache
def _stripe_secret() -> dict[str, object]:
    import boto3  # only functions that talk to Stripe pay for this client

    client = boto3.client("secretsmanager")
    secret = client.get_secret_value(SecretId=settings().stripe_secret_arn)
    document: dict[str, object] = json.loads(secret["SecretString"])
    return document


# botocore's retries and timeouts for the DynamoDB and SQS clients (README, "Retries and
# timeouts"). Standard mode: throttles and 5xx retried with jittered exponential backoff;
# adaptive mode's client-side rate limiter is per container, and a Lambda container serves one
# request at a time, so it would only delay that request. Three attempts in all, and no attempt
# waits long: worst case for one call, 3 x (1 s + 3 s) + at most 3 s of backoff, within the
# functions' timeout (tests/unit/test_timeouts.py); what still fails is a retryable 503.
AWS_RETRIES: dict[str, Any] = {"mode": "standard", "total_max_attempts": 3}
AWS_CONNECT_TIMEOUT_S = 1
AWS_READ_TIMEOUT_S = 3


def aws_client(service: Literal["dynamodb", "sqs"]) -> Any:
    """The one place an AWS client of the billing layer is built, with the settings above."""
    configured = settings()
    endpoint = {"dynamodb": configured.dynamodb_endpoint_url, "sqs": configured.sqs_endpoint_url}
    return botocore.session.get_session().create_client(
        service,
        endpoint_url=endpoint[service],
        config=Config(
            retries=AWS_RETRIES,  # type: ignore[arg-type]
            connect_timeout=AWS_CONNECT_TIMEOUT_S,
            read_timeout=AWS_READ_TIMEOUT_S,
        ),
    )


def reset_caches() -> None:
    """Forget cached settings (tests and the local stack change the environment)."""
    settings.cache_clear()
    stripe_secret_key.cache_clear()
    stripe_webhook_secret.cache_clear()
    _stripe_secret.cache_clear()
