"""Our signatures verify with the standardwebhooks and svix libraries, as Autumn's do; and
a failed delivery is tried again for more than a day before it is given up."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
import standardwebhooks
import svix.webhooks

from billing.config import Settings
from billing.domain.app_webhooks import new_secret, next_attempt_delay, signed_headers

BODY = '{"type":"customer.products.updated","data":{"scenario":"new"}}'


def test_a_new_secret_is_whsec_and_24_random_bytes() -> None:
    secrets = {new_secret() for _ in range(20)}

    assert len(secrets) == 20
    for secret in secrets:
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 24


def test_the_standardwebhooks_library_verifies_our_signature() -> None:
    secret = new_secret()
    now = int(datetime.now(tz=UTC).timestamp())

    headers = signed_headers(secret, "msg_1", now, BODY)

    assert standardwebhooks.Webhook(secret).verify(BODY, headers) == {
        "type": "customer.products.updated",
        "data": {"scenario": "new"},
    }


def test_the_svix_library_verifies_the_svix_headers_alone() -> None:
    secret = new_secret()
    now = int(datetime.now(tz=UTC).timestamp())
    headers = signed_headers(secret, "msg_1", now, BODY)
    svix_only = {k: v for k, v in headers.items() if k.startswith("svix-")}

    svix.webhooks.Webhook(secret).verify(BODY, svix_only)  # raises if it does not verify

    assert svix_only["svix-signature"] == headers["webhook-signature"]


def test_our_signature_is_the_one_the_library_makes() -> None:
    secret = new_secret()
    at = datetime(2026, 12, 2, tzinfo=UTC)

    ours = signed_headers(secret, "msg_1", int(at.timestamp()), BODY)["webhook-signature"]

    assert ours == standardwebhooks.Webhook(secret).sign("msg_1", at, BODY)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h, b: (h, b.replace("new", "renew")),
        lambda h, b: ({**h, "webhook-id": "msg_2"}, b),
        lambda h, b: ({**h, "webhook-timestamp": str(int(h["webhook-timestamp"]) - 1)}, b),
        lambda h, b: ({**h, "webhook-timestamp": str(int(h["webhook-timestamp"]) - 3600)}, b),
    ],
)
def test_a_tampered_or_stale_delivery_does_not_verify(tamper: object) -> None:
    secret = new_secret()
    now = int(datetime.now(tz=UTC).timestamp())
    headers, body = tamper(signed_headers(secret, "msg_1", now, BODY), BODY)  # type: ignore[operator]

    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(secret).verify(body, headers)


def test_a_delivery_signed_with_another_secret_does_not_verify() -> None:
    now = int(datetime.now(tz=UTC).timestamp())
    headers = signed_headers(new_secret(), "msg_1", now, BODY)

    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(new_secret()).verify(BODY, headers)


def test_the_default_retries_last_more_than_a_day() -> None:
    delays = Settings(table_name="billing", api_key_hashes=frozenset({"0" * 64}))
    schedule = delays.app_webhook_retry_delays

    assert sum(schedule) > 24 * 3600
    assert list(schedule) == sorted(schedule), "each wait at least as long as the one before"


def test_after_the_last_delay_a_delivery_is_given_up() -> None:
    delays = (5, 300, 1800)

    assert [next_attempt_delay(attempt, delays) for attempt in (1, 2, 3, 4)] == [
        5,
        300,
        1800,
        None,
    ]
