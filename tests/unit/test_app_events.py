"""Application events: a stable id per cause, and publishing never fails the caller."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from billing.config import reset_caches
from billing.services.app_webhooks import events as app_events
from billing.services.app_webhooks.events import (
    BillingUpdated,
    InvoiceFinalized,
    LimitReached,
    PlanChanged,
    ProductsUpdated,
)
from billing.store import table


def test_the_same_cause_gives_the_same_event_id() -> None:
    first = ProductsUpdated(cause="pur_1", customer_id="c", plan_id="pro", scenario="new")
    again = ProductsUpdated(cause="pur_1", customer_id="c", plan_id="pro", scenario="new")

    assert app_events.event_id(first) == app_events.event_id(again)
    assert app_events.event_id(first).startswith("msg_")


def test_another_cause_or_content_gives_another_event_id() -> None:
    base = ProductsUpdated(cause="pur_1", customer_id="c", plan_id="pro", scenario="new")
    ids = {
        app_events.event_id(event)
        for event in (
            base,
            base._replace(cause="pur_2"),
            base._replace(scenario="upgrade"),
            base._replace(customer_id="d"),
            LimitReached(cause="pur_1", customer_id="c", feature_id="pro"),
        )
    }

    assert len(ids) == 5


def test_the_queued_body_carries_the_type_id_and_fields_with_decimals_as_numbers() -> None:
    changes = (PlanChanged(action="activated", plan_id="pro"),)
    billing = BillingUpdated(cause="evt_1", customer_id="c", plan_changes=changes)
    invoice = InvoiceFinalized(
        cause="in_1", customer_id="c", invoice={"stripe_id": "in_1", "total": Decimal("9.99")}
    )

    queued = json.loads(app_events.queued_body(billing, 1_700_000_000_000))
    queued_invoice = json.loads(app_events.queued_body(invoice, 1))

    assert queued["type"] == "billing.updated"
    assert queued["id"] == app_events.event_id(billing)
    assert queued["occurred_at"] == 1_700_000_000_000
    assert queued["event"]["plan_changes"] == [{"action": "activated", "plan_id": "pro"}]
    assert queued_invoice["event"]["invoice"]["total"] == 9.99


def test_publishing_with_the_queue_and_the_table_unreachable_does_not_raise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TABLE_NAME", "billing-test")
    monkeypatch.setenv("API_KEY_HASHES", "0" * 64)
    monkeypatch.setenv("APP_EVENTS_QUEUE_URL", "http://127.0.0.1:9/queue/nowhere")
    monkeypatch.setenv("SQS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("DYNAMODB_ENDPOINT_URL", "http://127.0.0.1:9")
    reset_caches()
    app_events.sqs._client.cache_clear()
    table.client.cache_clear()
    try:
        published = app_events.publish(
            LimitReached(cause="track_1", customer_id="c", feature_id="messages")
        )
        assert published is None
    finally:
        monkeypatch.undo()
        reset_caches()
        app_events.sqs._client.cache_clear()
        table.client.cache_clear()
