"""Every sample in events/ is a real HTTP API v2 event (or an SQS batch for a queue's worker):
replayed against its handler, each one gets the answer it was written to show (what
`sam local invoke -e` would print)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local.gateway import FunctionPool
from local.stack import DEFAULT_SECRET_KEY, DEFAULT_WEBHOOK_SECRET, LocalStack
from local.template import ROOT, load_template, queue_sources, routes
from local.webhook_samples import SAMPLES, is_signed_with, signed_now

EVENTS = ROOT / "events"

# In replay order: later events rely on what earlier ones created.
EXPECTED_STATUS = {
    "customers_get_or_create.json": 200,
    "customers_get.json": 200,
    "customers_list.json": 200,
    "customers_update.json": 200,
    "customers_get_or_create_invalid.json": 400,
    "customers_get_or_create_unauthorized.json": 401,
    "features_create.json": 200,
    "features_get.json": 200,
    "features_list.json": 200,
    "features_update.json": 200,
    "balances_create.json": 200,
    "balances_update.json": 200,
    "balances_check.json": 200,
    "balances_track.json": 200,
    "balances_track_async.json": 202,
    # An SQS batch for the usage worker: 200 means no message is handed back for a retry.
    "balances_track_worker.json": 200,
    "events_list.json": 200,
    # The application's webhooks: made, read, changed and gone before anything is published.
    "webhooks_create.json": 200,
    "webhooks_get.json": 200,
    "webhooks_list.json": 200,
    "webhooks_update.json": 200,
    "webhooks_delete.json": 200,
    # An SQS batch for the events worker (no endpoint left: nothing to post, nothing handed back).
    "app_events_worker.json": 200,
    "events_aggregate.json": 200,
    "plans_create.json": 200,
    "plans_get.json": 200,
    "plans_list.json": 200,
    "plans_update.json": 200,
    # What attaching the free plan below would do: nothing changes, no Stripe call.
    "billing_preview_attach.json": 200,
    # A free plan: granted at once, no Stripe call.
    "billing_attach.json": 200,
    # What cancelling it at once would do: nothing due, nothing changes.
    "billing_preview_update.json": 200,
    # The free plan just attached, cancelled at once (no Stripe subscription to end).
    "billing_update.json": 200,
    # Creates the customer's Stripe customer (the emulator's), then a portal session.
    "billing_open_customer_portal.json": 200,
    # The customer's invoices (none: its plan is free).
    "invoices_list.json": 200,
    # Moves the test clock of the Stripe customer the portal sample made.
    "customers_advance_test_clock.json": 200,
    # A Checkout Session in setup mode for the customer's Stripe customer.
    "billing_setup_payment.json": 200,
    "plans_delete.json": 200,
    "customers_delete.json": 200,
    # Last: the plan samples grant the feature this sample deletes.
    "features_delete.json": 200,
    # Stripe's deliveries (no Bearer key): signed with the local stack's documented secret,
    # and signed again at replay (a signature is good for five minutes): see below.
    "stripe_webhook_ignored.json": 200,
    # A subscription Stripe does not have (re-read first): acknowledged, nothing written.
    "stripe_webhook_customer_subscription_created.json": 200,
    "stripe_webhook_customer_subscription_updated.json": 200,
    "stripe_webhook_customer_subscription_deleted.json": 200,
    # One per handled type, about objects the emulator does not have (so nothing changes):
    # each is re-read from Stripe, found missing, and acknowledged.
    "stripe_webhook_invoice_created.json": 200,
    "stripe_webhook_invoice_finalized.json": 200,
    "stripe_webhook_invoice_paid.json": 200,
    "stripe_webhook_invoice_payment_failed.json": 200,
    "stripe_webhook_invoice_updated.json": 200,
    "stripe_webhook_invoice_voided.json": 200,
    "stripe_webhook_checkout_session_expired.json": 200,
    "stripe_webhook_customer_updated.json": 200,
    # Signed with another secret: refused, nothing recorded.
    "stripe_webhook_forged.json": 400,
}


def test_every_event_file_has_an_expected_outcome() -> None:
    assert sorted(p.name for p in EVENTS.glob("*.json")) == sorted(EXPECTED_STATUS)


@pytest.fixture
def events_key(clean_stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
    """The samples carry the local stack's documented default key."""
    import hashlib

    from billing.config import reset_caches

    digest = hashlib.sha256(DEFAULT_SECRET_KEY.encode()).hexdigest()
    monkeypatch.setenv("API_KEY_HASHES", digest)
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", DEFAULT_WEBHOOK_SECRET)
    reset_caches()
    yield
    monkeypatch.undo()
    reset_caches()


def test_replaying_the_samples_in_order_gives_their_expected_answers(events_key: None) -> None:
    template = load_template()
    pools = {route.route_key: FunctionPool(route) for route in routes(template)}
    workers = {
        f"billing-{source.queue}": FunctionPool(source.function)
        for source in queue_sources(template)
    }

    for name, status in EXPECTED_STATUS.items():
        event = json.loads((EVENTS / name).read_text())
        if Path(name).match(SAMPLES) and is_signed_with(event):
            # What `python -m local.webhook_samples` does before a `sam local invoke`.
            event = signed_now(event)
        if "Records" in event:
            queue = event["Records"][0]["eventSourceARN"].rsplit(":", 1)[1]
            assert workers[queue].invoke(event) == {"batchItemFailures": []}, name
            continue
        result = pools[event["routeKey"]].invoke(event)
        body = json.loads(result["body"])

        assert result["statusCode"] == status, (name, body)
        if status == 200 and "customers_get" in name:
            assert body["id"] == "user_123"
        if status >= 400:
            assert {"code", "message"} <= body.keys()

    from billing.store import stripe_events

    ignored = stripe_events.get("evt_3SampleIgnored0001")
    assert ignored is not None
    assert (ignored.status, ignored.outcome) == ("COMPLETED", "ignored")
    assert stripe_events.get("evt_3SampleForged00001") is None


def test_the_webhook_samples_are_signed_with_the_local_secret_except_the_forged_one() -> None:
    signed = {
        path.name: is_signed_with(json.loads(path.read_text())) for path in EVENTS.glob(SAMPLES)
    }

    assert signed
    assert signed == {name: "forged" not in name for name in signed}


def test_a_sample_event_is_routed_exactly_as_template_yaml_says(events_key: None) -> None:
    event = json.loads((EVENTS / "customers_get_or_create.json").read_text())
    route_keys = {route.route_key for route in routes(load_template())}

    assert event["routeKey"] in route_keys
    assert event["requestContext"]["http"]["path"] == event["rawPath"]
    assert Path(ROOT / "functions" / "customers_get_or_create" / "app.py").exists()
