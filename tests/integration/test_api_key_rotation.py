"""Rotating secret keys as the README says, on the local stack: `make api-key HASHES=...`
adds a key while the old one still works, `make api-key REVOKE=<id> HASHES=...` drops the
old one, each list deployed as the functions' API_KEY_HASHES. Only digests are stored.
(`make api-key` itself: tests/unit/test_api_keys.py.)"""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest

from local import api_keys
from local.stack import LocalStack
from tests.conftest import SECRET_KEY


@pytest.fixture
def deployed_hashes(clean_stack: LocalStack) -> Iterator[str]:
    """The stack's ApiKeyHashes; whatever a test deploys, the suite's key comes back after."""
    original = os.environ["API_KEY_HASHES"]
    yield original
    clean_stack.redeploy(API_KEY_HASHES=original)


def status_with(stack: LocalStack, key: str) -> httpx.Response:
    return httpx.post(
        stack.api_url + "/v1/features.list",
        json={},
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    )


def test_two_keys_work_at_once_and_a_revoked_key_is_unauthorized(
    clean_stack: LocalStack, deployed_hashes: str
):
    new = api_keys.new_key()
    old_id = api_keys.key_id(api_keys.digest_of(SECRET_KEY))

    clean_stack.redeploy(API_KEY_HASHES=api_keys.with_key(deployed_hashes, new.digest))
    assert status_with(clean_stack, SECRET_KEY).status_code == 200
    assert status_with(clean_stack, new.key).status_code == 200

    clean_stack.redeploy(API_KEY_HASHES=api_keys.without_key(os.environ["API_KEY_HASHES"], old_id))
    revoked = status_with(clean_stack, SECRET_KEY)
    assert revoked.status_code == 401
    assert revoked.json()["code"] == "invalid_secret_key"
    assert status_with(clean_stack, new.key).status_code == 200

    stored = os.environ["API_KEY_HASHES"]  # what the functions are configured with
    assert stored == new.digest
    assert new.key not in stored
    assert SECRET_KEY not in stored
