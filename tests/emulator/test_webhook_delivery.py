"""Webhook endpoints and delivery: signed as Stripe signs, retried, done before the answer."""

import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import stripe

from tests.emulator.conftest import WEBHOOK_SECRET
from tests.emulator.receiver import WebhookReceiver


@pytest.fixture(scope="module")
def client(emulator):
    return stripe.StripeClient("sk_test_emulator", base_addresses={"api": emulator.url})


@pytest.fixture
def endpoint_receiver():
    running = WebhookReceiver()
    yield running
    running.stop()


def _verified(received):
    """What an application does with a delivery: the SDK's own signature check."""
    return stripe.Webhook.construct_event(
        received.body, received.headers["Stripe-Signature"], WEBHOOK_SECRET
    )


def test_events_reach_the_receiver_signed_before_the_call_returns(client, receiver):
    customer = client.v1.customers.create({"email": "hook@example.com"})

    # No waiting: delivery completes before the API call answers.
    (received,) = receiver.received
    event = _verified(received)
    assert event.type == "customer.created"
    assert event.data.object.id == customer.id
    assert received.headers["Content-Type"].startswith("application/json")
    assert client.v1.events.retrieve(event.id).pending_webhooks == 0


def test_a_tampered_body_or_other_secret_fails_the_sdk_check(client, receiver):
    client.v1.customers.create({})
    (received,) = receiver.received
    signature = received.headers["Stripe-Signature"]
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(received.body + b" ", signature, WEBHOOK_SECRET)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(received.body, signature, "whsec_other")


def test_webhook_endpoint_secret_is_shown_once_and_signs_its_deliveries(client, endpoint_receiver):
    endpoint = client.v1.webhook_endpoints.create(
        {"url": endpoint_receiver.url, "enabled_events": ["customer.created"]}
    )
    assert endpoint.id.startswith("we_")
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.status == "enabled"
    assert "secret" not in client.v1.webhook_endpoints.retrieve(endpoint.id)
    assert all("secret" not in e for e in client.v1.webhook_endpoints.list().data)

    customer = client.v1.customers.create({})
    client.v1.customers.update(customer.id, {"name": "not subscribed to"})

    (received,) = endpoint_receiver.received
    event = stripe.Webhook.construct_event(
        received.body, received.headers["Stripe-Signature"], endpoint.secret
    )
    assert (event.type, event.data.object.id) == ("customer.created", customer.id)


def test_endpoint_with_star_gets_everything_and_a_disabled_one_nothing(client, endpoint_receiver):
    endpoint = client.v1.webhook_endpoints.create(
        {"url": endpoint_receiver.url, "enabled_events": ["*"]}
    )
    customer = client.v1.customers.create({})
    client.v1.customers.update(customer.id, {"name": "n"})
    assert endpoint_receiver.types() == ["customer.created", "customer.updated"]

    disabled = client.v1.webhook_endpoints.update(endpoint.id, {"disabled": True})
    assert disabled.status == "disabled"
    client.v1.customers.delete(customer.id)
    assert len(endpoint_receiver.received) == 2

    deleted = client.v1.webhook_endpoints.delete(endpoint.id)
    assert deleted.deleted is True
    assert client.v1.webhook_endpoints.list().data == []


def test_endpoint_creation_validates_its_parameters(client):
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.webhook_endpoints.create({"url": "http://127.0.0.1:1/x"})  # type: ignore[typeddict-item]
    assert missing.value.code == "parameter_missing"
    with pytest.raises(stripe.InvalidRequestError) as bad_url:
        client.v1.webhook_endpoints.create({"url": "ftp://x", "enabled_events": ["*"]})
    assert bad_url.value.param == "url"
    assert client.v1.webhook_endpoints.list().data == []


def test_a_failed_delivery_is_retried_until_it_succeeds(client, emulator, receiver):
    receiver.fail_next(2, status=500)
    client.v1.customers.create({})

    assert len(receiver.received) == 3
    assert len({r.event["id"] for r in receiver.received}) == 1
    attempts = emulator.deliveries()
    assert [(a["attempt"], a["status"], a["succeeded"]) for a in attempts] == [
        (1, 500, False),
        (2, 500, False),
        (3, 200, True),
    ]
    (event,) = client.v1.events.list().data
    assert event.pending_webhooks == 0


def test_an_endpoint_that_never_succeeds_leaves_the_event_pending(client, emulator, receiver):
    receiver.fail_next(10, status=503)
    client.v1.customers.create({})

    attempts = emulator.deliveries()
    assert len(attempts) == 4
    assert not any(a["succeeded"] for a in attempts)
    (event,) = client.v1.events.list({"delivery_success": False}).data
    assert event.pending_webhooks == 1
    assert client.v1.events.list({"delivery_success": True}).data == []


def test_an_unreachable_endpoint_is_recorded_and_does_not_fail_the_request(
    client, emulator, endpoint_receiver
):
    endpoint_receiver.stop()
    client.v1.webhook_endpoints.create({"url": endpoint_receiver.url, "enabled_events": ["*"]})
    customer = client.v1.customers.create({})

    assert customer.id.startswith("cus_")
    attempts = emulator.deliveries()
    assert len(attempts) == 4
    assert all(a["status"] is None and a["error"] for a in attempts)


def test_a_receiver_may_call_back_into_the_emulator_while_it_is_delivered_to(client, receiver):
    seen: list[str | None] = []

    def look_up_and_write(event):
        if event["type"] == "customer.created":
            fetched = client.v1.customers.retrieve(event["data"]["object"]["id"])
            seen.append(fetched.email)
            client.v1.customers.update(fetched.id, {"name": "from the webhook"})

    receiver.on_event = look_up_and_write
    customer = client.v1.customers.create({"email": "cb@example.com"})

    assert seen == ["cb@example.com"]
    assert receiver.types() == ["customer.created", "customer.updated"]
    assert client.v1.customers.retrieve(customer.id).name == "from the webhook"


def test_concurrent_requests_deliver_each_event_exactly_once(client, receiver):
    with ThreadPoolExecutor(max_workers=8) as pool:
        created = list(pool.map(lambda _: client.v1.customers.create({}), range(16)))

    delivered = [e["data"]["object"]["id"] for e in receiver.events("customer.created")]
    assert sorted(delivered) == sorted(c.id for c in created)
    assert len({e["id"] for e in receiver.events()}) == len(receiver.received) == 16


def test_events_of_one_request_arrive_in_creation_order(client, receiver):
    customer = client.v1.customers.create({})
    client.v1.customers.update(customer.id, {"name": "a"})
    client.v1.customers.update(customer.id, {"name": "b"})
    client.v1.customers.delete(customer.id)
    names = [e["data"]["object"].get("name") for e in receiver.events()]
    assert receiver.types() == [
        "customer.created",
        "customer.updated",
        "customer.updated",
        "customer.deleted",
    ]
    assert names == [None, "a", "b", "b"]


def test_redeliver_sends_the_same_event_again(client, emulator, receiver):
    client.v1.customers.create({})
    (event,) = client.v1.events.list().data

    answer = httpx.post(f"{emulator.url}/_emulator/events/{event.id}/redeliver")
    assert answer.status_code == 200
    first, second = (_verified(r) for r in receiver.received)
    assert first.id == second.id == event.id
    assert first.data == second.data
    missing = httpx.post(f"{emulator.url}/_emulator/events/evt_missing/redeliver")
    assert missing.status_code == 404


def test_control_api_registers_a_forward_with_a_known_secret_that_survives_reset(
    client, emulator, endpoint_receiver
):
    registered = httpx.post(
        f"{emulator.url}/_emulator/webhook_endpoints",
        json={"url": endpoint_receiver.url, "secret": "whsec_local_stack"},
    )
    assert registered.json() == {"url": endpoint_receiver.url, "secret": "whsec_local_stack"}
    try:
        emulator.reset()
        client.v1.customers.create({})
        (received,) = endpoint_receiver.received
        event = stripe.Webhook.construct_event(
            received.body, received.headers["Stripe-Signature"], "whsec_local_stack"
        )
        assert event.type == "customer.created"
        log = httpx.get(f"{emulator.url}/_emulator/deliveries").json()["data"]
        assert [(a["event_id"], a["status"]) for a in log] == [(event.id, 200)]
    finally:
        assert httpx.delete(f"{emulator.url}/_emulator/webhook_endpoints").status_code == 200
    client.v1.customers.create({})
    assert len(endpoint_receiver.received) == 1


def test_an_idempotent_replay_delivers_nothing_again(client, receiver):
    client.v1.customers.create({}, {"idempotency_key": "same"})
    client.v1.customers.create({}, {"idempotency_key": "same"})
    assert receiver.types() == ["customer.created"]


def test_delivered_body_is_the_stored_event(client, receiver):
    client.v1.customers.create({"metadata": {"k": "v"}})
    (received,) = receiver.received
    (event,) = client.v1.events.list().data
    body = json.loads(received.body)
    assert body["id"] == event.id
    assert body["data"]["object"]["metadata"] == {"k": "v"}
