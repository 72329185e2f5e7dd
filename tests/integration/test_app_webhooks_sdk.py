"""autumn-sdk manages the application's webhooks against the local stack, its own models
accepting every answer; a webhook it creates receives events its secret verifies. (autumn-js
1.3 has no webhooks operations.)"""

from __future__ import annotations

import re
import time
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import standardwebhooks
from autumn_sdk import Autumn
from autumn_sdk.errors import AutumnError

from local.stack import LocalStack
from local.template import ROOT
from tests.conftest import SDK_TIMEOUT_MS, SECRET_KEY
from tests.emulator.receiver import WebhookReceiver


@pytest.fixture
def autumn(clean_stack: LocalStack) -> Autumn:
    return Autumn(secret_key=SECRET_KEY, server_url=clean_stack.api_url, timeout_ms=SDK_TIMEOUT_MS)


def test_autumn_sdk_creates_reads_lists_updates_and_deletes_a_webhook(autumn: Autumn) -> None:
    created = autumn.webhooks.create(
        id="orders-app",
        url="https://app.example.com/autumn",
        events=["customer.products.updated", "balances.limit_reached"],
        description="plan changes",
    )
    got = autumn.webhooks.get(id="orders-app")
    updated = autumn.webhooks.update(id="orders-app", events=[], disabled=True)
    listed = autumn.webhooks.list(request={})
    deleted = autumn.webhooks.delete(id="orders-app")

    assert created.secret.startswith("whsec_")
    assert (got.id, got.url, got.description, got.disabled) == (
        "orders-app",
        "https://app.example.com/autumn",
        "plan changes",
        False,
    )
    assert got.events == ["customer.products.updated", "balances.limit_reached"]
    assert (updated.events, updated.disabled, updated.url) == ([], True, got.url)
    assert updated.updated_at >= got.updated_at
    assert [w.id for w in listed.list] == ["orders-app"]
    assert deleted.success is True
    assert autumn.webhooks.list(request={}).list == []


def test_autumn_sdk_sees_a_missing_webhook_as_a_404(autumn: Autumn) -> None:
    with pytest.raises(AutumnError) as missing:
        autumn.webhooks.get(id="nope")

    assert missing.value.status_code == 404
    assert "webhook_not_found" in missing.value.body


def test_a_webhook_made_with_the_sdk_receives_events_its_secret_verifies(
    autumn: Autumn, api: httpx.Client
) -> None:
    receiver = WebhookReceiver()
    try:
        secret = autumn.webhooks.create(id="local", url=receiver.url).secret
        api.post("/v1/features.create", json={"feature_id": "m", "name": "M", "type": "metered"})
        plan = {"plan_id": "free", "name": "Free", "items": [{"feature_id": "m", "included": 5}]}
        api.post("/v1/plans.create", json=plan)
        api.post("/v1/customers.get_or_create", json={"customer_id": "c1"})

        api.post("/v1/billing.attach", json={"customer_id": "c1", "plan_id": "free"})

        deadline = time.monotonic() + 30
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.05)
        (post,) = receiver.received
        headers = {k.lower(): v for k, v in post.headers.items()}
        payload = standardwebhooks.Webhook(secret).verify(post.body, headers)
        assert payload["type"] == "customer.products.updated"
        assert payload["data"]["customer"]["id"] == "c1"
    finally:
        receiver.stop()


def readme_webhook_snippet() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Webhooks to the application") :]
    (snippet,) = re.findall(r"```python\n(.*?)```", section[: section.index("\n## ")], re.DOTALL)
    return snippet


@pytest.mark.parametrize("library", ["svix.webhooks", "standardwebhooks"])
def test_the_readme_webhook_snippet_verifies_a_delivery_with_the_installed_library(
    autumn: Autumn, api: httpx.Client, library: str
) -> None:
    # The snippet with either library it names (one imported, the other in its comment).
    snippet = re.sub(
        r"^from \S+ import Webhook",
        f"from {library} import Webhook",
        readme_webhook_snippet(),
        flags=re.MULTILINE,
    )
    receiver = WebhookReceiver()
    try:
        secret = autumn.webhooks.create(id="local", url=receiver.url).secret
        api.post("/v1/features.create", json={"feature_id": "m", "name": "M", "type": "metered"})
        plan = {"plan_id": "free", "name": "Free", "items": [{"feature_id": "m", "included": 5}]}
        api.post("/v1/plans.create", json=plan)
        api.post("/v1/customers.get_or_create", json={"customer_id": "c1"})
        api.post("/v1/billing.attach", json={"customer_id": "c1", "plan_id": "free"})
        deadline = time.monotonic() + 120
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.05)
        (post,) = receiver.received
    finally:
        receiver.stop()
    request = SimpleNamespace(headers=dict(post.headers.items()))

    namespace: dict[str, Any] = {"secret": secret, "raw_body": post.body, "request": request}
    exec(snippet, namespace)  # noqa: S102 (the README's own snippet)
    forged = {"secret": secret, "raw_body": post.body + b" ", "request": request}

    assert namespace["plan_id"] == "free"
    with pytest.raises(Exception, match=r"(?i)signature"):
        exec(snippet, forged)  # noqa: S102
