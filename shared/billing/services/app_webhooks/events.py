"""Events for the application's webhooks: what changed, published as it happens.

`publish(event)` queues the event (one SQS message) and returns; the delivery worker later
builds its payload as Autumn sends it, signs it and posts it to every endpoint that wants it,
retrying for more than a day. Publishing never fails the operation that publishes: a queue
that is missing or unreachable loses the event, logged, and the operation goes on.

Each event names its `cause`: what made it happen, the same on every retry of that operation
(a purchase id, a Stripe event id, an idempotency key). Its id is derived from the cause and
what it says, so a retried operation publishes the same id and the application drops the copy.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Literal, NamedTuple

from billing import clock, numbers, sqs
from billing.config import settings
from billing.observability import logger

# What happened to the customer's plan, in Autumn's words.
Scenario = Literal[
    "new", "upgrade", "downgrade", "renew", "cancel", "expired", "past_due", "scheduled"
]
LimitType = Literal["included", "max_purchase", "spend_limit", "usage_limit"]
PlanChangeAction = Literal["activated", "scheduled", "updated", "expired"]

EventType = Literal[
    "customer.products.updated", "balances.limit_reached", "billing.updated", "invoice.finalized"
]
EVENT_TYPES: tuple[EventType, ...] = (
    "customer.products.updated",
    "balances.limit_reached",
    "billing.updated",
    "invoice.finalized",
)


class ProductsUpdated(NamedTuple):
    """`customer.products.updated`: the customer's plan changed (delivered with the customer
    and the plan as `customers.get` and `plans.get` show them when the event is delivered)."""

    cause: str
    customer_id: str
    plan_id: str
    scenario: Scenario
    # The version the customer holds; None: the plan's latest.
    plan_version: int | None = None
    entity_id: str | None = None


class LimitReached(NamedTuple):
    """`balances.limit_reached`: a feature the customer could use is now refused."""

    cause: str
    customer_id: str
    feature_id: str
    limit_type: LimitType = "included"
    entity_id: str | None = None


class PlanChanged(NamedTuple):
    action: PlanChangeAction
    plan_id: str


class BillingUpdated(NamedTuple):
    """`billing.updated`: plans activated, scheduled, updated or expired by one billing
    change (each delivered with the subscription as it stands when the event is delivered)."""

    cause: str
    customer_id: str
    plan_changes: tuple[PlanChanged, ...]
    entity_id: str | None = None


class InvoiceFinalized(NamedTuple):
    """`invoice.finalized`: `invoice` is the invoice as it was kept (`store.invoices`' record,
    its fields by name), delivered as `invoices.list` shows it (`api.wire.app_events`)."""

    cause: str
    customer_id: str
    invoice: Mapping[str, Any]


AppEvent = ProductsUpdated | LimitReached | BillingUpdated | InvoiceFinalized

_TYPE_OF: dict[type[AppEvent], EventType] = {
    ProductsUpdated: "customer.products.updated",
    LimitReached: "balances.limit_reached",
    BillingUpdated: "billing.updated",
    InvoiceFinalized: "invoice.finalized",
}


def event_type(event: AppEvent) -> EventType:
    return _TYPE_OF[type(event)]


def event_id(event: AppEvent) -> str:
    """Stable: the same cause and content give the same id (`msg_` and 32 hex digits)."""
    content = json.dumps([event_type(event), _fields(event)], sort_keys=True, default=str)
    return f"msg_{hashlib.sha256(content.encode()).hexdigest()[:32]}"


def queued_body(event: AppEvent, occurred_at: int) -> str:
    """The message the delivery worker reads (`app_webhooks.delivery.Queued`)."""
    return numbers.dumps(
        {
            "id": event_id(event),
            "type": event_type(event),
            "occurred_at": occurred_at,
            "event": _fields(event),
        }
    )


def publish(event: AppEvent) -> None:
    """Queues the event for the application's webhooks; never raises."""
    try:
        queue_url = settings().app_events_queue_url
        if queue_url is None:
            return  # a deployment without application webhooks
        sqs.send(queue_url, queued_body(event, clock.now_ms()))
    except Exception:  # the operation that publishes has happened: it must not fail now
        logger.exception("an application event was not queued", extra={"event": event_type(event)})


def _fields(event: AppEvent) -> dict[str, Any]:
    fields = event._asdict()
    if isinstance(event, BillingUpdated):
        fields["plan_changes"] = [change._asdict() for change in event.plan_changes]
    if isinstance(event, InvoiceFinalized):
        fields["invoice"] = dict(event.invoice)
    return fields
