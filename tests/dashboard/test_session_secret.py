"""Where the session secret comes from: Secrets Manager in AWS, the environment locally."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from billing.dashboard.secret import DashboardSecretMissing, session_secret


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.delenv("DASHBOARD_SESSION_SECRET", raising=False)
    monkeypatch.delenv("DASHBOARD_SECRET_ARN", raising=False)
    session_secret.cache_clear()
    yield monkeypatch
    session_secret.cache_clear()


@mock_aws
def test_in_aws_the_secret_is_read_from_secrets_manager_once(fresh: pytest.MonkeyPatch):
    fresh.setenv("AWS_DEFAULT_REGION", "us-east-1")
    client = boto3.client("secretsmanager")
    arn = client.create_secret(Name="dashboard", SecretString="s" * 64)["ARN"]
    fresh.setenv("DASHBOARD_SECRET_ARN", arn)

    first = session_secret()
    client.put_secret_value(SecretId=arn, SecretString="t" * 64)

    assert first == b"s" * 64
    assert session_secret() == first  # read once per container


def test_without_a_secret_the_dashboard_refuses_to_serve():
    with pytest.raises(DashboardSecretMissing):
        session_secret()


def test_a_short_secret_is_refused(fresh: pytest.MonkeyPatch):
    fresh.setenv("DASHBOARD_SESSION_SECRET", "short")

    with pytest.raises(DashboardSecretMissing):
        session_secret()
