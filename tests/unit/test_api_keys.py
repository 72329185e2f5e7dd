"""`make api-key` (local/api_keys.py): a new key shown once, ApiKeyHashes lists with a key
added or revoked, never a plain key in them; and the key hashes are read once per cold start."""

from __future__ import annotations

import hashlib
import re

import pytest

from billing.config import reset_caches, settings
from local import api_keys

SECRET_KEY = "am_sk_test_unit_key"


def test_make_api_key_prints_the_key_once_and_stores_only_digests(
    capsys: pytest.CaptureFixture[str],
):
    current = api_keys.digest_of(SECRET_KEY)

    assert api_keys.main(["new", "--hashes", current]) == 0
    printed = capsys.readouterr().out
    key = re.search(r"secret key:\s+(\S+)", printed)
    listed = re.search(r"ApiKeyHashes:\s+(\S+)", printed)
    assert key is not None
    assert listed is not None
    assert listed[1] == f"{current},{api_keys.digest_of(key[1])}"
    assert key[1] not in listed[1]

    assert api_keys.main(["revoke", api_keys.key_id(current), "--hashes", listed[1]]) == 0
    assert capsys.readouterr().out.split()[-1] == api_keys.digest_of(key[1])


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["new", "--hashes", "am_sk_pasted_by_mistake"], "digests only"),
        (["revoke", "0123", "--hashes", "a" * 64], "no single key"),
        (["revoke", "a" * 12, "--hashes", "a" * 64], "the last key"),
    ],
)
def test_make_api_key_refuses_a_plain_key_an_unknown_id_and_the_last_key(
    capsys: pytest.CaptureFixture[str], argv: list[str], reason: str
):
    assert api_keys.main(argv) == 2
    assert reason in capsys.readouterr().err


def test_the_key_hashes_are_read_once_per_cold_start(monkeypatch: pytest.MonkeyPatch):
    first, second = (hashlib.sha256(k.encode()).hexdigest() for k in ("k1", "k2"))
    monkeypatch.setenv("TABLE_NAME", "billing")
    monkeypatch.setenv("API_KEY_HASHES", first)
    reset_caches()
    try:
        assert settings().api_key_hashes == frozenset({first})
        monkeypatch.setenv("API_KEY_HASHES", second)  # a request later: no new read
        assert settings().api_key_hashes == frozenset({first})
        reset_caches()  # the next cold start
        assert settings().api_key_hashes == frozenset({second})
    finally:
        monkeypatch.undo()
        reset_caches()
