"""Stripe-Signature verification: only a body signed with our secret in the last five
minutes is an event; anything else is a 400 `invalid_inputs` before anything is read."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from billing.api.errors import status_of
from billing.domain.errors import InvalidStripeEvent
from billing.stripe_api.webhooks import TOLERANCE_SECONDS, construct_event, signature_header
from tests.stripe_events import stripe_event

SECRET = "whsec_unit"
NOW = 1_800_000_000
BODY = stripe_event(event_id="evt_sig", event_type="invoice.paid")


def test_a_body_signed_with_the_secret_just_now_is_the_event():
    event = construct_event(BODY, signature_header(BODY, SECRET, NOW), SECRET, now_s=NOW)

    assert (event.id, event.type, event.livemode) == ("evt_sig", "invoice.paid", False)
    assert event.data.object.id == "ch_test_1"


def test_the_signature_is_stripes_hmac_sha256_of_timestamp_dot_body():
    expected = hmac.new(SECRET.encode(), b"%d.%s" % (NOW, BODY), hashlib.sha256).hexdigest()

    assert signature_header(BODY, SECRET, NOW) == f"t={NOW},v1={expected}"


def test_a_signature_four_minutes_old_is_accepted():
    header = signature_header(BODY, SECRET, NOW - TOLERANCE_SECONDS + 60)

    assert construct_event(BODY, header, SECRET, now_s=NOW).id == "evt_sig"


def test_one_matching_signature_among_several_is_enough_as_when_stripe_rolls_a_secret():
    good = signature_header(BODY, SECRET, NOW).split(",")[1]
    header = f"t={NOW},v1={'0' * 64},{good},v0=ignored"

    assert construct_event(BODY, header, SECRET, now_s=NOW).id == "evt_sig"


@pytest.mark.parametrize(
    ("body", "header", "message"),
    [
        pytest.param(BODY, None, "missing", id="missing"),
        pytest.param(BODY, "", "missing", id="empty"),
        pytest.param(
            BODY, signature_header(BODY, "whsec_other", NOW), "does not match", id="other secret"
        ),
        pytest.param(
            BODY + b" ", signature_header(BODY, SECRET, NOW), "does not match", id="body changed"
        ),
        pytest.param(
            BODY,
            signature_header(BODY, SECRET, NOW - TOLERANCE_SECONDS - 1),
            "five minutes",
            id="stale",
        ),
        pytest.param(BODY, f"t={NOW}", "not `t=", id="no v1"),
        pytest.param(BODY, "v1=abc", "not `t=", id="no timestamp"),
        pytest.param(BODY, "t=soon,v1=abc", "not `t=", id="timestamp not a number"),
        pytest.param(BODY, "garbage", "not `t=", id="garbage"),
        pytest.param(
            BODY,
            signature_header(BODY, SECRET, NOW).replace(f"t={NOW}", f"t={NOW + 1}"),
            "does not match",
            id="timestamp moved",
        ),
    ],
)
def test_a_missing_bad_or_stale_signature_is_refused(body: bytes, header: str | None, message: str):
    with pytest.raises(InvalidStripeEvent) as refused:
        construct_event(body, header, SECRET, now_s=NOW)

    assert message in refused.value.message
    assert refused.value.code == "invalid_inputs"
    assert status_of(refused.value) == 400


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"not json", id="not json"),
        pytest.param(b"[]", id="a list"),
        pytest.param(b'{"id": "evt_1", "object": "event"}', id="no type"),
        pytest.param(
            stripe_event().replace(b'"object": "event"', b'"object": "charge"'), id="not an event"
        ),
        pytest.param(stripe_event(event_id="cus_1"), id="not an event id"),
        pytest.param(
            stripe_event().replace(b'"created": 1790000000', b'"created": "soon"'), id="created"
        ),
        pytest.param(b"[" * 5000 + b"]" * 5000, id="deep"),
    ],
)
def test_a_signed_body_that_is_not_a_stripe_event_is_refused(body: bytes):
    with pytest.raises(InvalidStripeEvent, match="not a Stripe event"):
        construct_event(body, signature_header(body, SECRET, NOW), SECRET, now_s=NOW)
