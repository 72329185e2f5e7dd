"""The secret that signs the dashboard's sessions: per deployment, read once per container.

In AWS it is a Secrets Manager secret the template generates (DASHBOARD_SECRET_ARN); the
local stack and tests set DASHBOARD_SESSION_SECRET itself.
"""

from __future__ import annotations

import os
from functools import cache


class DashboardSecretMissing(RuntimeError):
    """The dashboard was deployed without a session secret."""


# Shorter than this is not a secret worth signing with.
_SHORTEST = 32


@cache
def session_secret() -> bytes:
    given = os.environ.get("DASHBOARD_SESSION_SECRET")
    if given is None:
        arn = os.environ.get("DASHBOARD_SECRET_ARN")
        if not arn:
            raise DashboardSecretMissing("set DASHBOARD_SESSION_SECRET or DASHBOARD_SECRET_ARN")
        import boto3  # only on a cold start in AWS

        given = boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
    if len(given) < _SHORTEST:
        raise DashboardSecretMissing(f"the session secret needs at least {_SHORTEST} characters")
    return given.encode()
