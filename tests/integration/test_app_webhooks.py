"""Webhooks to the application over the local stack: endpoints managed as the SDKs do,
events posted to a real HTTP server on localhost, verified with the standardwebhooks and svix
libraries, retried while the receiver fails, and kept in the dead-letter queue at the end."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import httpx
import pytest
import standardwebhooks
import svix.webhooks

from billing.config import reset_caches
from billing.services.app_webhooks import events as app_events
from billing.services.app_webhooks.events import LimitReached, ProductsUpdated
from billing.store import outbox
from local.stack import LocalStack
from tests.conftest import with_metered_balance
from tests.emulator.receiver import Received, WebhookReceiver
from tests.integration.test_attach_api import FREE, PREMIUM, PRO, with_card_on_file

PRODUCTS_UPDATED = "customer.products.updated"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.stop()


@pytest.fixture
def retries(request: pytest.FixtureRequest) -> Iterator[None]:
    """A short retry schedule (`@pytest.mark.parametrize("retries", ["1,1"], indirect=True)`)."""
    before = os.environ.get("APP_WEBHOOK_RETRY_DELAYS")
    os.environ["APP_WEBHOOK_RETRY_DELAYS"] = getattr(request, "param", "1,1,1")
    reset_caches()
    yield
    if before is None:
        os.environ.pop("APP_WEBHOOK_RETRY_DELAYS", None)
    else:
        os.environ["APP_WEBHOOK_RETRY_DELAYS"] = before
    reset_caches()


@pytest.fixture
def catalog(api: httpx.Client) -> httpx.Client:
    for body in (
        {"feature_id": "messages", "name": "Messages", "type": "metered"},
        {"feature_id": "sso", "name": "SSO", "type": "boolean"},
    ):
        assert api.post("/v1/features.create", json=body).status_code == 200
    for plan in (FREE, PRO, PREMIUM):
        assert api.post("/v1/plans.create", json=plan).status_code == 200
    return api


def endpoint(api: httpx.Client, url: str, **fields: Any) -> dict[str, Any]:
    created = api.post("/v1/webhooks.create", json={"id": "app", "url": url, **fields})
    assert created.status_code == 200, created.text
    answer: dict[str, Any] = created.json()
    return answer


def wait_for(check: Callable[[], bool], timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("the expected deliveries did not arrive")
        time.sleep(0.05)


def message_id(received: Received) -> str:
    return {k.lower(): v for k, v in received.headers.items()}["webhook-id"]


def verified(secret: str, received: Received) -> dict[str, Any]:
    """The payload as the standardwebhooks library verifies it (the svix library, reading
    only the `svix-*` headers, must verify it too)."""
    headers = {k.lower(): v for k, v in received.headers.items()}
    payload: dict[str, Any] = standardwebhooks.Webhook(secret).verify(received.body, headers)
    svix_headers = {k: headers[k] for k in ("svix-id", "svix-timestamp", "svix-signature")}
    svix.webhooks.Webhook(secret).verify(received.body, svix_headers)  # raises if not
    return payload


def test_webhooks_are_created_read_listed_updated_and_deleted_as_the_sdks_do(
    api: httpx.Client,
) -> None:
    created = endpoint(api, "https://app.example.com/hooks", events=[PRODUCTS_UPDATED])

    assert created["secret"].startswith("whsec_")
    assert {k: created[k] for k in ("id", "url", "events", "disabled", "description")} == {
        "id": "app",
        "url": "https://app.example.com/hooks",
        "events": [PRODUCTS_UPDATED],
        "disabled": False,
        "description": None,
    }
    got = api.post("/v1/webhooks.get", json={"id": "app"}).json()
    assert "secret" not in got
    assert got == {k: v for k, v in created.items() if k != "secret"}
    updated = api.post(
        "/v1/webhooks.update", json={"id": "app", "disabled": True, "events": []}
    ).json()
    assert (updated["disabled"], updated["events"], updated["url"]) == (
        True,
        [],
        "https://app.example.com/hooks",
    )
    assert api.post("/v1/webhooks.list", json={}).json() == {"list": [updated]}
    assert api.post("/v1/webhooks.delete", json={"id": "app"}).json() == {"success": True}
    gone = api.post("/v1/webhooks.get", json={"id": "app"})
    assert (gone.status_code, gone.json()["code"]) == (404, "webhook_not_found")
    assert api.post("/v1/webhooks.list", json={}).json() == {"list": []}


@pytest.mark.parametrize(
    "body",
    [
        {"id": "has space", "url": "https://a.example"},
        {"id": "app", "url": "not a url"},
        {"id": "app", "url": "https://a.example", "events": ["customer.unknown"]},
        {"id": "app", "url": "https://a.example", "disabled": "yes"},
        {"url": "https://a.example"},
    ],
)
def test_a_bad_webhook_is_a_400_and_nothing_is_kept(
    api: httpx.Client, body: dict[str, Any]
) -> None:
    answer = api.post("/v1/webhooks.create", json=body)

    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_inputs"
    assert api.post("/v1/webhooks.list", json={}).json() == {"list": []}


def test_a_second_webhook_with_the_same_id_is_a_409_and_keeps_the_first(
    api: httpx.Client,
) -> None:
    first = endpoint(api, "https://a.example/one")

    again = api.post("/v1/webhooks.create", json={"id": "app", "url": "https://a.example/two"})

    assert (again.status_code, again.json()["code"]) == (409, "duplicate_webhook_id")
    assert api.post("/v1/webhooks.get", json={"id": "app"}).json()["url"] == first["url"]


def test_updating_or_deleting_an_unknown_webhook_is_a_404(api: httpx.Client) -> None:
    for path in ("/v1/webhooks.update", "/v1/webhooks.delete", "/v1/webhooks.get"):
        answer = api.post(path, json={"id": "nope"})
        assert (answer.status_code, answer.json()["code"]) == (404, "webhook_not_found")


def test_attaching_a_plan_posts_customer_products_updated_signed_for_standard_webhooks(
    catalog: httpx.Client, receiver: WebhookReceiver
) -> None:
    secret = endpoint(catalog, receiver.url)["secret"]
    catalog.post("/v1/customers.get_or_create", json={"customer_id": "c1"})

    assert catalog.post(
        "/v1/billing.attach", json={"customer_id": "c1", "plan_id": "free"}
    ).is_success

    wait_for(lambda: len(receiver.events(PRODUCTS_UPDATED)) == 1)
    (post,) = receiver.received
    payload = verified(secret, post)
    assert payload["type"] == PRODUCTS_UPDATED
    headers = {k.lower(): v for k, v in post.headers.items()}
    assert payload["id"] == headers["webhook-id"] == headers["svix-id"]
    assert headers["webhook-signature"] == headers["svix-signature"]
    data = payload["data"]
    assert data["scenario"] == "new"
    assert data["updated_product"]["id"] == "free"
    assert data["customer"]["id"] == "c1"
    assert [s["plan_id"] for s in data["customer"]["subscriptions"]] == ["free"]
    assert data["customer"]["balances"]["messages"]["granted"] == 100


def test_a_forged_or_tampered_delivery_does_not_verify(
    catalog: httpx.Client, receiver: WebhookReceiver
) -> None:
    secret = endpoint(catalog, receiver.url)["secret"]
    catalog.post("/v1/customers.get_or_create", json={"customer_id": "c1"})
    catalog.post("/v1/billing.attach", json={"customer_id": "c1", "plan_id": "free"})
    wait_for(lambda: len(receiver.received) == 1)
    (post,) = receiver.received
    headers = {k.lower(): v for k, v in post.headers.items()}
    other_secret = "whsec_" + "A" * 32

    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(secret).verify(post.body.replace(b"free", b"pro!"), headers)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(other_secret).verify(post.body, headers)


def test_each_plan_change_is_told_with_its_scenario(
    catalog: httpx.Client, receiver: WebhookReceiver, clean_stack: LocalStack
) -> None:
    secret = endpoint(catalog, receiver.url, events=[PRODUCTS_UPDATED])["secret"]
    with_card_on_file(catalog, clean_stack, "pm_card_visa")

    for plan_id in ("free", "pro", "premium", "pro"):
        answer = catalog.post("/v1/billing.attach", json={"customer_id": "c1", "plan_id": plan_id})
        assert answer.status_code == 200, answer.text

    wait_for(lambda: len(receiver.received) == 4)
    # In the order they happened (a delivery may overtake another).
    payloads = sorted((verified(secret, post) for post in receiver.received), key=_occurred_at)
    told = [payload["data"] for payload in payloads]
    assert [(d["scenario"], d["updated_product"]["id"]) for d in told] == [
        ("new", "free"),
        ("upgrade", "pro"),
        ("upgrade", "premium"),
        ("downgrade", "pro"),
    ]
    assert len({message_id(post) for post in receiver.received}) == 4


def test_a_customer_created_with_a_default_plan_is_told_as_new(
    api: httpx.Client, receiver: WebhookReceiver
) -> None:
    api.post("/v1/features.create", json={"feature_id": "messages", "name": "M", "type": "metered"})
    default = {**FREE, "plan_id": "starter", "auto_enable": True, "items": FREE["items"][:1]}
    assert api.post("/v1/plans.create", json=default).status_code == 200
    secret = endpoint(api, receiver.url)["secret"]

    api.post("/v1/customers.get_or_create", json={"customer_id": "new_user"})
    api.post("/v1/customers.get_or_create", json={"customer_id": "new_user"})

    wait_for(lambda: len(receiver.received) >= 1)
    time.sleep(0.5)  # a second event would have arrived by now
    (post,) = receiver.received
    data = verified(secret, post)["data"]
    assert (data["scenario"], data["customer"]["id"], data["updated_product"]["id"]) == (
        "new",
        "new_user",
        "starter",
    )


def test_an_endpoint_gets_only_the_events_it_asked_for_and_none_while_disabled(
    catalog: httpx.Client, receiver: WebhookReceiver
) -> None:
    limits = WebhookReceiver()
    try:
        endpoint(catalog, limits.url, events=["balances.limit_reached"])
        catalog.post(
            "/v1/webhooks.create", json={"id": "off", "url": receiver.url, "disabled": True}
        )
        catalog.post("/v1/customers.get_or_create", json={"customer_id": "c1"})
        catalog.post("/v1/billing.attach", json={"customer_id": "c1", "plan_id": "free"})
        app_events.publish(LimitReached(cause="t1", customer_id="c1", feature_id="messages"))

        wait_for(lambda: len(limits.received) == 1)
        time.sleep(0.5)  # the products.updated event had time to go out too
        assert [r.event["type"] for r in limits.received] == ["balances.limit_reached"]
        assert limits.received[0].event["data"] == {
            "customer_id": "c1",
            "feature_id": "messages",
            "limit_type": "included",
        }
        assert receiver.received == []
    finally:
        limits.stop()


def test_a_receiver_that_fails_for_a_while_gets_every_event_once_it_recovers(
    catalog: httpx.Client, receiver: WebhookReceiver, retries: None
) -> None:
    secret = endpoint(catalog, receiver.url)["secret"]
    receiver.fail_next(4)
    for customer_id in ("c1", "c2", "c3"):
        catalog.post("/v1/customers.get_or_create", json={"customer_id": customer_id})
        catalog.post("/v1/billing.attach", json={"customer_id": customer_id, "plan_id": "free"})

    wait_for(lambda: len(receiver.received) == 3 + 4)
    time.sleep(1.5)  # nothing more comes: every event got its 200 once
    assert len(receiver.received) == 7
    first_tries = {message_id(r) for r in receiver.received[:4]}
    accepted = receiver.received[4:]
    assert {message_id(r) for r in accepted} == {message_id(r) for r in receiver.received}
    assert first_tries <= {message_id(r) for r in accepted}
    assert sorted(verified(secret, r)["data"]["customer"]["id"] for r in accepted) == [
        "c1",
        "c2",
        "c3",
    ]


@pytest.mark.parametrize("retries", ["1,1"], indirect=True)
def test_a_delivery_that_fails_every_try_ends_in_the_dead_letter_queue(
    catalog: httpx.Client, receiver: WebhookReceiver, clean_stack: LocalStack, retries: None
) -> None:
    endpoint(catalog, receiver.url)
    receiver.fail_next(100)
    catalog.post("/v1/customers.get_or_create", json={"customer_id": "c1"})
    catalog.post("/v1/billing.attach", json={"customer_id": "c1", "plan_id": "free"})

    wait_for(lambda: len(receiver.received) == 3)
    kept = _dead_letters(clean_stack, wait_s=10)

    assert len({message_id(r) for r in receiver.received}) == 1
    assert [(m["id"], m["webhook_id"], m["attempt"]) for m in kept] == [
        (message_id(receiver.received[0]), "app", 3)
    ]
    assert json.loads(kept[0]["payload"])["data"]["updated_product"]["id"] == "free"


@pytest.mark.parametrize("retries", ["1,1,1,1"], indirect=True)
def test_a_webhook_deleted_while_its_retries_wait_gets_nothing_more(
    catalog: httpx.Client, receiver: WebhookReceiver, clean_stack: LocalStack, retries: None
) -> None:
    endpoint(catalog, receiver.url)
    receiver.fail_next(100)
    catalog.post("/v1/customers.get_or_create", json={"customer_id": "c1"})
    catalog.post("/v1/billing.attach", json={"customer_id": "c1", "plan_id": "free"})
    wait_for(lambda: len(receiver.received) == 1)

    assert catalog.post("/v1/webhooks.delete", json={"id": "app"}).status_code == 200

    time.sleep(3)  # every retry would have come by now
    assert len(receiver.received) <= 2, "at most the retry already under way when deleted"
    assert _dead_letters(clean_stack, wait_s=0.5) == []


def test_an_event_queued_twice_is_posted_once_with_one_id(
    catalog: httpx.Client, receiver: WebhookReceiver, clean_stack: LocalStack
) -> None:
    endpoint(catalog, receiver.url)
    catalog.post("/v1/customers.get_or_create", json={"customer_id": "c1"})
    catalog.post("/v1/billing.attach", json={"customer_id": "c1", "plan_id": "free"})
    wait_for(lambda: len(receiver.received) == 1)
    event = ProductsUpdated(cause="same-cause", customer_id="c1", plan_id="free", scenario="new")

    app_events.publish(event)
    app_events.publish(event)  # a retried operation publishes its event again

    wait_for(lambda: len(receiver.received) == 2)
    time.sleep(1)
    assert len(receiver.received) == 2
    assert message_id(receiver.received[1]) == app_events.event_id(event)


def _occurred_at(payload: dict[str, Any]) -> int:
    return int(payload["occurred_at"])


def _dead_letters(stack: LocalStack, wait_s: float) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", endpoint_url=stack.sqs_url, region_name="us-east-1")
    url = os.environ["APP_EVENTS_DEAD_LETTER_QUEUE_URL"]
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if got:
            for message in got:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            return [json.loads(m["Body"]) for m in got]
        time.sleep(0.1)
    return []


def test_a_track_that_uses_the_last_of_a_balance_tells_limit_reached_once(
    api: httpx.Client, receiver: WebhookReceiver
) -> None:
    secret = endpoint(api, receiver.url, events=["balances.limit_reached"])["secret"]
    with_metered_balance(api, included=3)

    def track(value: int) -> None:
        answer = api.post(
            "/v1/balances.track",
            json={"customer_id": "u", "feature_id": "messages", "value": value},
        )
        assert answer.status_code == 200, answer.text

    track(2)
    track(1)
    track(1)  # already at the limit: nothing more to tell

    wait_for(lambda: len(receiver.received) >= 1)
    time.sleep(0.5)
    (post,) = receiver.received
    payload = verified(secret, post)
    assert (payload["type"], payload["id"]) == ("balances.limit_reached", message_id(post))
    assert payload["data"] == {
        "customer_id": "u",
        "feature_id": "messages",
        "limit_type": "included",
    }


def test_async_tracks_that_use_the_last_of_a_balance_tell_limit_reached_once(
    api: httpx.Client, receiver: WebhookReceiver, clean_stack: LocalStack
) -> None:
    # Given a balance of 3 and an endpoint for limits
    endpoint(api, receiver.url, events=["balances.limit_reached"])
    with_metered_balance(api, included=3)

    # When queued uses of 2, 1 and 1 are applied by the usage worker
    for value in (2, 1, 1):
        body = {"customer_id": "u", "feature_id": "messages", "value": value, "async": True}
        assert api.post("/v1/balances.track", json=body).status_code == 202
    clean_stack.drain_queues()

    # Then the use that took the last unit is told, once; the one after it is not
    wait_for(lambda: len(receiver.received) >= 1)
    time.sleep(0.5)
    (post,) = receiver.received
    assert post.event["type"] == "balances.limit_reached"
    assert post.event["data"] == {
        "customer_id": "u",
        "feature_id": "messages",
        "limit_type": "included",
    }


def test_a_check_with_send_event_that_uses_the_last_tells_limit_reached(
    api: httpx.Client, receiver: WebhookReceiver
) -> None:
    endpoint(api, receiver.url, events=["balances.limit_reached"])
    with_metered_balance(api, included=1)

    answer = api.post(
        "/v1/balances.check",
        json={"customer_id": "u", "feature_id": "messages", "send_event": True},
    )

    assert answer.json()["allowed"] is True
    wait_for(lambda: len(receiver.received) == 1)
    assert receiver.received[0].event["data"]["feature_id"] == "messages"


def test_an_event_left_in_the_outbox_is_queued_again_by_the_sweeper_and_posted_once(
    catalog: httpx.Client, receiver: WebhookReceiver, clean_stack: LocalStack
) -> None:
    """Queued, but its outbox item not removed (the function stopped, or the table failed
    just then): the sweeper queues it again, and the endpoint that got it is not posted it
    again. One that never reached SQS is posted once the sweeper queues it."""
    endpoint(catalog, receiver.url)
    catalog.post("/v1/customers.get_or_create", json={"customer_id": "c1"})
    clean_stack.settle()
    sent = ProductsUpdated(cause="sent-once", customer_id="c1", plan_id="free", scenario="new")
    never_queued = ProductsUpdated(cause="lost", customer_id="c1", plan_id="free", scenario="new")
    app_events.publish(sent)
    clean_stack.settle()
    before = len(receiver.received)
    swept = clean_stack.sweeper
    assert swept is not None
    invocations = swept.invocations

    outbox.keep(
        [*app_events.outgoing([sent]).entries, *app_events.outgoing([never_queued]).entries]
    )
    clean_stack.settle()

    ids = [message_id(received) for received in receiver.received[before:]]
    assert ids == [app_events.event_id(never_queued)]
    assert swept.invocations > invocations
    assert not swept.waiting()
