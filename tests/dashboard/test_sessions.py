"""Session cookies and CSRF tokens: what passes and what is refused (pure, no servers)."""

from __future__ import annotations

import base64
import hashlib
import json

from hypothesis import given
from hypothesis import strategies as st

from billing.dashboard import sessions

SECRET = b"a-test-secret-of-more-than-32-characters"
KEY_DIGEST = hashlib.sha256(b"am_sk_operator").hexdigest()
ACCEPTED = {KEY_DIGEST}
NOW = 1_800_000_000_000


def signed_in_cookie(now: int = NOW) -> str:
    return sessions.encode(SECRET, sessions.signed_in(SECRET, KEY_DIGEST, now))


def test_a_signed_in_session_reads_back_until_it_expires_after_12_hours():
    cookie = signed_in_cookie()

    read = sessions.decode(SECRET, cookie, NOW + 12 * 3600 * 1000 - 1, ACCEPTED)
    expired = sessions.decode(SECRET, cookie, NOW + 12 * 3600 * 1000, ACCEPTED)

    assert read is not None
    assert read.signed_in
    assert expired is None


def test_a_tampered_cookie_is_refused():
    version, payload, tag = signed_in_cookie().split(".")
    values = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    values["e"] += 10 * 24 * 3600 * 1000  # a longer life, with the old signature
    forged = base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")

    assert sessions.decode(SECRET, f"{version}.{forged}.{tag}", NOW, ACCEPTED) is None
    assert sessions.decode(SECRET, f"{version}.{payload}.{tag[:-2]}AA", NOW, ACCEPTED) is None


def test_a_cookie_signed_with_another_deployments_secret_is_refused():
    other = sessions.encode(b"x" * 40, sessions.signed_in(b"x" * 40, KEY_DIGEST, NOW))

    assert sessions.decode(SECRET, other, NOW, ACCEPTED) is None


def test_a_session_of_a_key_rotated_out_is_refused():
    another_key = hashlib.sha256(b"am_sk_new").hexdigest()

    assert sessions.decode(SECRET, signed_in_cookie(), NOW, {another_key}) is None


def test_an_anonymous_session_reads_back_as_not_signed_in():
    cookie = sessions.encode(SECRET, sessions.anonymous(NOW))

    read = sessions.decode(SECRET, cookie, NOW, ACCEPTED)

    assert read is not None
    assert not read.signed_in


def test_signing_in_starts_a_new_session_rather_than_promoting_the_anonymous_one():
    anonymous = sessions.anonymous(NOW)

    signed_in = sessions.signed_in(SECRET, KEY_DIGEST, NOW)

    assert signed_in.nonce != anonymous.nonce
    assert sessions.csrf_token(SECRET, signed_in) != sessions.csrf_token(SECRET, anonymous)


def test_a_csrf_token_is_valid_only_for_its_own_session():
    mine, theirs = sessions.anonymous(NOW), sessions.anonymous(NOW)
    token = sessions.csrf_token(SECRET, mine)

    assert sessions.csrf_valid(SECRET, mine, token)
    assert not sessions.csrf_valid(SECRET, theirs, token)
    assert not sessions.csrf_valid(SECRET, mine, None)
    assert not sessions.csrf_valid(SECRET, mine, "")
    assert not sessions.csrf_valid(SECRET, None, token)


@given(st.text(max_size=300))
def test_any_other_cookie_text_is_refused_without_an_error(cookie: str):
    assert sessions.decode(SECRET, cookie, NOW, ACCEPTED) is None


@given(st.text(max_size=100))
def test_any_other_token_text_fails_the_csrf_check_without_an_error(token: str):
    assert not sessions.csrf_valid(SECRET, sessions.anonymous(NOW), token)
