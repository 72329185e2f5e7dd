"""Which Stripe environment a deployment serves: one deployment, one environment."""

from __future__ import annotations

from typing import Literal

Environment = Literal["sandbox", "live"]


def environment_of(stripe_secret_key: str | None) -> Environment:
    """A deployment is one environment: a Stripe test key (or none at all) means sandbox."""
    if stripe_secret_key is None or "_test_" in stripe_secret_key:
        return "sandbox"
    return "live"
