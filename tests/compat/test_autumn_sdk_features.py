"""features.* answers, validated by the official Python SDK's own response models.

autumn-sdk 1.2.0 cannot use features.* at all: its `features` namespace imports generated
models (`createfeatureop`, `updatefeatureop`) that raise NameError at import, on any Python,
before anything is sent to any server. So these routes are called over HTTP, and every
answer is checked with the SDK's models for them (GetFeatureResponse, ListFeaturesResponse,
DeleteFeatureResponse), which do import.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from autumn_sdk import Autumn, models

from local.stack import LocalStack
from tests.conftest import SDK_TIMEOUT_MS, SECRET_KEY


@pytest.fixture
def autumn(clean_stack: LocalStack) -> Iterator[Autumn]:
    with Autumn(
        secret_key=SECRET_KEY, server_url=clean_stack.api_url, timeout_ms=SDK_TIMEOUT_MS
    ) as client:
        yield client


def test_the_sdk_itself_cannot_load_its_features_namespace(autumn: Autumn) -> None:
    """Pins the SDK bug above: when a fixed SDK ships, this fails and the workaround goes."""
    with pytest.raises(NameError):
        _ = autumn.features


def test_every_features_answer_is_accepted_by_the_sdk_models(api: httpx.Client) -> None:
    created = [
        api.post("/v1/features.create", json=body).json()
        for body in (
            {"feature_id": "messages", "name": "Messages", "type": "metered"},
            {"feature_id": "sso", "name": "SSO", "type": "boolean"},
            {
                "feature_id": "credits",
                "name": "Credits",
                "type": "credit_system",
                "credit_schema": [{"metered_feature_id": "messages", "credit_cost": 3}],
                "display": {"singular": "credit", "plural": "credits"},
            },
        )
    ]
    updated = api.post("/v1/features.update", json={"feature_id": "sso", "name": "Single sign-on"})
    fetched = api.post("/v1/features.get", json={"feature_id": "credits"})
    listed = api.post("/v1/features.list", json={})
    deleted = api.post("/v1/features.delete", json={"feature_id": "sso"})

    for answer in [*created, updated.json(), fetched.json()]:
        feature = models.GetFeatureResponse.model_validate(answer)
        assert feature.id in {"messages", "sso", "credits"}
    listing = models.ListFeaturesResponse.model_validate(listed.json())
    assert [f.id for f in listing.list] == ["messages", "sso", "credits"]
    assert models.DeleteFeatureResponse.model_validate(deleted.json()).success is True
