"""Billing scenarios against Stripe's own test mode, for users with a Stripe account.

Opt-in: `STRIPE_SECRET_KEY=sk_test_... make test-live` (README, "Against Stripe's test
mode"). The stack's handlers read their settings from the process environment, so these
run in a pytest process of their own, never beside the emulator's stack.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import httpx
import pytest

from local.stack import LocalStack, StackConfig, ensure_path

SECRET_KEY = "am_sk_live_suite_key"
WHY_SKIPPED = (
    "runs against Stripe's test mode only when asked: "
    "STRIPE_SECRET_KEY=sk_test_... make test-live (see the README)"
)


@pytest.fixture(scope="session")
def live_stack() -> Iterator[LocalStack]:
    key = os.environ.get("STRIPE_SECRET_KEY", "")
    if os.environ.get("LIVE_STRIPE_TESTS") != "1" or not key.startswith("sk_test_"):
        pytest.skip(WHY_SKIPPED)
    ensure_path()
    config = StackConfig(
        port=int(os.environ.get("PORT", "8788")),
        secret_key=SECRET_KEY,
        table_name="billing-live-tests",
        stripe_secret_key=key,
        stripe_webhook_secret=os.environ.get("STRIPE_WEBHOOK_SECRET") or "whsec_unset",
    )
    running = LocalStack(config).start()
    yield running
    running.stop()


@pytest.fixture
def live_api(live_stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=live_stack.api_url,
        headers={"Authorization": f"Bearer {SECRET_KEY}"},
        timeout=60,
    ) as client:
        yield client


@pytest.fixture
def run_id() -> str:
    """Stripe's test account outlives a run: every plan and customer of a run is new."""
    return uuid.uuid4().hex[:10]
