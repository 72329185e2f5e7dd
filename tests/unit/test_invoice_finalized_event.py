"""`invoice.finalized` tells the application the invoice as invoices.list shows it: the same
fields and values, sent byte for byte as they have always been sent."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing import numbers
from billing.api.wire.app_events import event_payload
from billing.api.wire.invoices import listed_invoice_response
from billing.domain.customers import Customer
from billing.services.app_webhooks import events as app_events
from billing.services.app_webhooks.delivery import Queued
from billing.services.billing import renewals
from billing.store.invoices import InvoiceRecord

_CUSTOMER = Customer(internal_id="cus_internal", id="c1", created_at=1, metadata={})

# The data part of the delivered payload, as it is sent since the event was first built.
_SENT = (
    '{"id":"in_1","stripe_id":"in_1","customer_id":"c1","entity_id":null,"plan_ids":["pro"],'
    '"status":"paid","total":20.5,"amount_paid":20.5,"refunded_amount":0,"currency":"usd",'
    '"created_at":1700000000000,"hosted_invoice_url":"https://invoice.example/in_1",'
    '"processor_type":"stripe"}'
)


def _delivered(record: InvoiceRecord, monkeypatch: pytest.MonkeyPatch) -> str:
    """What the application receives for the invoice's finalization, published as the
    webhook handler publishes it and built as the delivery worker builds it."""
    published: list[app_events.AppEvent] = []
    monkeypatch.setattr(app_events, "publish", published.append)
    renewals._announce_finalized(_CUSTOMER, record)
    (event,) = published
    message = Queued.model_validate_json(app_events.queued_body(event, 1_700_000_000_001))
    payload = event_payload(message)
    assert payload is not None
    return payload


def test_the_finalized_invoice_is_sent_as_invoices_list_shows_it_byte_for_byte(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    record = InvoiceRecord(
        stripe_id="in_1",
        customer_id="c1",
        status="paid",
        total=Decimal("20.5"),
        currency="usd",
        hosted_invoice_url="https://invoice.example/in_1",
        created_at=1_700_000_000_000,
        plan_ids=("pro",),
        number="ABC-0001",
    )

    payload = _delivered(record, monkeypatch)

    assert payload.startswith('{"type":"invoice.finalized","id":"msg_')
    assert payload.endswith(f',"occurred_at":1700000000001,"data":{_SENT}}}')
    # The fields sent are invoices.list's, with its values.
    listed = listed_invoice_response(record, "c1").model_dump()
    sent = numbers.loads(_SENT)
    assert {name: listed[name] for name in sent} == sent


def test_an_open_invoice_is_sent_with_nothing_paid_and_no_page_when_it_has_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    record = InvoiceRecord(
        stripe_id="in_2",
        customer_id="c1",
        status="open",
        total=Decimal(20),
        currency="usd",
        hosted_invoice_url=None,
        created_at=1_700_000_000_000,
        plan_ids=(),
    )

    payload = _delivered(record, monkeypatch)

    assert payload.endswith(
        ',"data":{"id":"in_2","stripe_id":"in_2","customer_id":"c1","entity_id":null,'
        '"plan_ids":[],"status":"open","total":20,"amount_paid":0,"refunded_amount":0,'
        '"currency":"usd","created_at":1700000000000,"hosted_invoice_url":null,'
        '"processor_type":"stripe"}}'
    )


def test_a_finalized_invoice_queued_in_its_shaped_form_is_sent_as_before() -> None:
    # Messages queued before the event carried the kept invoice held it shaped already.
    queued = numbers.dumps(
        {
            "id": "msg_1",
            "type": "invoice.finalized",
            "occurred_at": 1_700_000_000_001,
            "event": {
                "cause": "in_1:finalized",
                "customer_id": "c1",
                "invoice": numbers.loads(_SENT),
            },
        }
    )

    payload = event_payload(Queued.model_validate_json(queued))

    assert payload == (
        f'{{"type":"invoice.finalized","id":"msg_1","occurred_at":1700000000001,"data":{_SENT}}}'
    )
