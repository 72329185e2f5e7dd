from __future__ import annotations

import hashlib

import pytest
from pydantic import ValidationError

from billing.config import (
    StripeNotConfigured,
    reset_caches,
    settings_from,
    stripe_secret_key,
    stripe_webhook_secret,
)

HASH = hashlib.sha256(b"am_sk_test_key").hexdigest()
OTHER_HASH = hashlib.sha256(b"am_sk_test_other").hexdigest()
ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:stripe-AbCdEf"


def environ(**overrides: str) -> dict[str, str]:
    base = {"TABLE_NAME": "billing", "API_KEY_HASHES": HASH, "STRIPE_SECRET_KEY": "sk_test_abc"}
    return {k: v for k, v in {**base, **overrides}.items() if v is not None}


def without(name: str) -> dict[str, str]:
    values = environ()
    del values[name]
    return values


class TestValidSettings:
    def test_a_complete_environment_is_read(self):
        settings = settings_from(environ(DYNAMODB_ENDPOINT_URL="http://localhost:8000"))

        assert settings.table_name == "billing"
        assert settings.api_key_hashes == frozenset({HASH})
        assert settings.stripe_secret_key is not None
        assert settings.stripe_secret_key.get_secret_value() == "sk_test_abc"
        assert settings.dynamodb_endpoint_url == "http://localhost:8000"

    def test_several_comma_separated_hashes_are_accepted_with_blanks_around_them(self):
        settings = settings_from(environ(API_KEY_HASHES=f" {HASH} ,{OTHER_HASH},"))

        assert settings.api_key_hashes == frozenset({HASH, OTHER_HASH})

    def test_a_secret_arn_with_a_mode_is_enough_for_stripe(self):
        settings = settings_from(
            environ(STRIPE_SECRET_KEY="", STRIPE_SECRET_ARN=ARN, STRIPE_MODE="test")
        )

        assert settings.stripe_secret_key is None
        assert settings.stripe_secret_arn == ARN

    def test_empty_optional_values_mean_unset(self):
        settings = settings_from(environ(DYNAMODB_ENDPOINT_URL="", STRIPE_API_BASE=""))

        assert settings.dynamodb_endpoint_url is None
        assert settings.stripe_api_base is None

    def test_the_stripe_key_is_never_shown(self):
        settings = settings_from(environ(STRIPE_SECRET_KEY="sk_live_very_secret"))

        assert "sk_live_very_secret" not in repr(settings)
        assert "sk_live_very_secret" not in str(settings.model_dump())


class TestInvalidSettings:
    @pytest.mark.parametrize(
        "values",
        [
            pytest.param(without("TABLE_NAME"), id="missing TABLE_NAME"),
            pytest.param(environ(TABLE_NAME=""), id="empty TABLE_NAME"),
            pytest.param(without("API_KEY_HASHES"), id="missing API_KEY_HASHES"),
            pytest.param(environ(API_KEY_HASHES=""), id="empty API_KEY_HASHES"),
            pytest.param(environ(API_KEY_HASHES=" , "), id="blank API_KEY_HASHES"),
            pytest.param(environ(API_KEY_HASHES="not-a-hash"), id="non-hex hash"),
            pytest.param(environ(API_KEY_HASHES="g" * 64), id="non-hex 64 characters"),
            pytest.param(environ(API_KEY_HASHES=HASH[:-1]), id="too short hash"),
            pytest.param(environ(API_KEY_HASHES=HASH.upper()), id="uppercase hash"),
            pytest.param(environ(API_KEY_HASHES=f"{HASH},nope"), id="one bad hash among good"),
            pytest.param(
                environ(STRIPE_SECRET_KEY="", STRIPE_SECRET_ARN=ARN), id="arn without mode"
            ),
            pytest.param(
                environ(STRIPE_SECRET_KEY="", STRIPE_SECRET_ARN=ARN, STRIPE_MODE="prod"),
                id="unknown mode",
            ),
        ],
    )
    def test_a_cold_start_with_bad_settings_fails_loudly(self, values: dict[str, str]):
        with pytest.raises(ValidationError):
            settings_from(values)


class TestStripeIsOptional:
    """Functions that never call Stripe (check, track) start without Stripe settings."""

    def test_settings_without_any_stripe_key_are_valid_and_sandbox(self):
        settings = settings_from(without("STRIPE_SECRET_KEY"))

        assert settings.stripe_secret_key is None
        assert settings.environment == "sandbox"

    def test_calling_stripe_without_a_key_nor_a_secret_fails_loudly(self, monkeypatch):
        for name, value in without("STRIPE_SECRET_KEY").items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("STRIPE_SECRET_KEY", raising=False)
        monkeypatch.delenv("STRIPE_SECRET_ARN", raising=False)
        reset_caches()
        try:
            with pytest.raises(StripeNotConfigured):
                stripe_secret_key()
        finally:
            monkeypatch.undo()
            reset_caches()


class TestEnvironment:
    @pytest.mark.parametrize(
        ("key", "environment"),
        [("sk_test_abc", "sandbox"), ("rk_test_abc", "sandbox"), ("sk_live_abc", "live")],
    )
    def test_a_configured_key_decides_the_environment(self, key: str, environment: str):
        assert settings_from(environ(STRIPE_SECRET_KEY=key)).environment == environment

    @pytest.mark.parametrize(("mode", "environment"), [("test", "sandbox"), ("live", "live")])
    def test_with_a_secret_arn_the_mode_decides_the_environment(self, mode: str, environment: str):
        values = environ(STRIPE_SECRET_KEY="", STRIPE_SECRET_ARN=ARN, STRIPE_MODE=mode)

        assert settings_from(values).environment == environment


class TestStripeSecretInSecretsManager:
    """In AWS the Stripe key and the webhook secret are two fields of one secret, read once
    per container (moto's Secrets Manager, in process)."""

    @pytest.fixture
    def secret(self, monkeypatch: pytest.MonkeyPatch):
        import boto3
        from moto import mock_aws

        with mock_aws():
            monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
            for name, value in environ(STRIPE_SECRET_KEY="", STRIPE_MODE="test").items():
                monkeypatch.setenv(name, value)
            monkeypatch.delenv("STRIPE_SECRET_KEY", raising=False)
            monkeypatch.delenv("STRIPE_WEBHOOK_SECRET", raising=False)
            client = boto3.client("secretsmanager", region_name="us-east-1")

            def create(document: str) -> None:
                arn = client.create_secret(Name="stripe", SecretString=document)["ARN"]
                monkeypatch.setenv("STRIPE_SECRET_ARN", arn)
                reset_caches()

            yield create, client
        monkeypatch.undo()
        reset_caches()

    def test_both_come_from_one_secret_fetched_once(self, secret):
        create, client = secret
        create('{"stripe_secret_key": "sk_test_held", "stripe_webhook_secret": "whsec_held"}')

        assert stripe_webhook_secret() == "whsec_held"
        client.delete_secret(SecretId="stripe", ForceDeleteWithoutRecovery=True)
        assert stripe_secret_key() == "sk_test_held"  # from the same fetch
        assert stripe_webhook_secret() == "whsec_held"

    @pytest.mark.parametrize(
        "document",
        [
            '{"stripe_secret_key": "sk_test_held"}',
            '{"stripe_secret_key": "sk_test_held", "stripe_webhook_secret": ""}',
        ],
    )
    def test_a_secret_without_the_webhook_secret_fails_loudly(self, secret, document: str):
        create, _ = secret
        create(document)

        with pytest.raises(StripeNotConfigured, match="stripe_webhook_secret"):
            stripe_webhook_secret()

    def test_the_environment_variable_wins_locally(self, monkeypatch: pytest.MonkeyPatch):
        for name, value in environ(STRIPE_WEBHOOK_SECRET="whsec_local").items():
            monkeypatch.setenv(name, value)
        reset_caches()
        try:
            assert stripe_webhook_secret() == "whsec_local"
        finally:
            monkeypatch.undo()
            reset_caches()
