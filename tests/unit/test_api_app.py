"""The app factories: which routes need the Bearer key, and errors shaped alike on both."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest

from billing.api.app import make_app, make_unauthenticated_app
from billing.config import reset_caches
from billing.domain.errors import InvalidRequest

KEY = "am_sk_test_app_factory"


@pytest.fixture(autouse=True)
def deployment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TABLE_NAME", "billing-unit")
    monkeypatch.setenv("API_KEY_HASHES", hashlib.sha256(KEY.encode()).hexdigest())
    reset_caches()
    yield
    reset_caches()


def event(path: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": f"POST {path}",
        "rawPath": path,
        "headers": headers or {},
        "requestContext": {"http": {"method": "POST", "path": path}, "stage": "$default"},
        "body": "{}",
        "isBase64Encoded": False,
    }


def test_given_an_unauthenticated_app_when_called_without_a_key_then_its_route_runs():
    app = make_unauthenticated_app()
    app.post("/webhooks/test")(lambda: {"received": True})

    answer = app.resolve(event("/webhooks/test"), {})

    assert answer["statusCode"] == 200
    assert json.loads(answer["body"]) == {"received": True}


def test_the_same_route_on_the_api_app_needs_the_bearer_key():
    app = make_app()
    app.post("/webhooks/test")(lambda: {"received": True})

    refused = app.resolve(event("/webhooks/test"), {})
    allowed = app.resolve(event("/webhooks/test", {"authorization": f"Bearer {KEY}"}), {})

    assert refused["statusCode"] == 401
    assert json.loads(refused["body"])["code"] == "unauthorized"
    assert allowed["statusCode"] == 200


def test_an_unauthenticated_app_answers_errors_in_the_documented_shape():
    app = make_unauthenticated_app()

    def fails() -> None:
        raise InvalidRequest("The signature is missing.", details=[{"field": "signature"}])

    app.post("/webhooks/test")(fails)
    invalid = app.resolve(event("/webhooks/test"), {})
    unknown = app.resolve(event("/webhooks/other"), {})

    assert invalid["statusCode"] == 400
    assert json.loads(invalid["body"])["message"] == "The signature is missing."
    assert json.loads(invalid["body"])["details"] == [{"field": "signature"}]
    assert unknown["statusCode"] == 404
    assert "code" in json.loads(unknown["body"])
