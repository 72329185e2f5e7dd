from __future__ import annotations

import hashlib

import pytest

from billing.api.auth import authenticate
from billing.domain.errors import Unauthorized

KEY = "am_sk_test_unit_key"
OTHER_KEY = "am_sk_test_other_key"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


ACCEPTED = frozenset({sha256(KEY), sha256(OTHER_KEY)})


@pytest.mark.parametrize(
    "header",
    [
        f"Bearer {KEY}",
        f"bearer {KEY}",
        f"BEARER {KEY}",
        f"Bearer {OTHER_KEY}",
        f"  Bearer {KEY}  ",
    ],
)
def test_a_bearer_key_whose_sha256_is_accepted_passes(header: str):
    assert authenticate(header, ACCEPTED) is None


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(None, id="missing header"),
        pytest.param("", id="empty header"),
        pytest.param("Bearer", id="scheme without token"),
        pytest.param("Bearer    ", id="blank token"),
        pytest.param(f"Basic {KEY}", id="basic scheme"),
        pytest.param(f"Token {KEY}", id="other scheme"),
        pytest.param(KEY, id="key without scheme"),
        pytest.param("Bearer am_sk_test_wrong", id="wrong key"),
        pytest.param(f"Bearer {sha256(KEY)}", id="the hash itself"),
        pytest.param(f"Bearer {KEY}x", id="key with extra character"),
    ],
)
def test_anything_but_an_accepted_bearer_key_is_unauthorized(header: str | None):
    with pytest.raises(Unauthorized):
        authenticate(header, ACCEPTED)


def test_no_key_is_accepted_when_no_hash_is_configured():
    with pytest.raises(Unauthorized):
        authenticate(f"Bearer {KEY}", frozenset())


def test_unauthorized_says_how_to_authenticate():
    with pytest.raises(Unauthorized) as raised:
        authenticate(None, ACCEPTED)

    assert raised.value.code == "invalid_secret_key"
    assert "Bearer" in raised.value.message
