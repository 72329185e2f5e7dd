"""Application events as the application receives them: `{type, id, occurred_at, data}`, the
data shaped as Autumn sends it (the customer as `customers.get` answers, the plan as
`plans.get` answers), read when the event is first delivered."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from billing import numbers
from billing.api.wire.customers import customer_response
from billing.api.wire.invoices import finalized_invoice_data
from billing.api.wire.plans import plan_response
from billing.config import settings
from billing.domain.errors import CustomerNotFound, PlanNotFound
from billing.domain.holdings import Subscription
from billing.observability import logger
from billing.services.app_webhooks.delivery import Queued
from billing.services.catalog.plans import get_plan
from billing.services.customers.get import get_customer
from billing.store.invoices import InvoiceRecord


def event_payload(message: Queued) -> str | None:
    """The body every endpoint gets for this event; None when what it is about is gone (a
    customer deleted before the event went out)."""
    try:
        data = _data(message.type, message.event)
    except (CustomerNotFound, PlanNotFound):
        logger.warning("an application event about something gone", extra={"id": message.id})
        return None
    envelope = {
        "type": message.type,
        "id": message.id,
        "occurred_at": message.occurred_at,
        "data": data,
    }
    return numbers.dumps(envelope)


def _data(event_type: str, event: dict[str, Any]) -> dict[str, Any]:
    if event_type == "customer.products.updated":
        return _products_updated(event)
    if event_type == "billing.updated":
        return _billing_updated(event)
    if event_type == "balances.limit_reached":
        return _without_none(
            {
                "customer_id": event["customer_id"],
                "feature_id": event["feature_id"],
                "limit_type": event["limit_type"],
                "entity_id": event.get("entity_id"),
            }
        )
    if event_type == "invoice.finalized":
        return finalized_invoice_data(_invoice(event["invoice"]))
    raise ValueError(f"unknown application event type {event_type}")


def _products_updated(event: dict[str, Any]) -> dict[str, Any]:
    env = settings().environment
    customer = get_customer(event["customer_id"])
    plan = get_plan(event["plan_id"], event.get("plan_version"))
    return _without_none(
        {
            "scenario": event["scenario"],
            "customer": customer_response(customer, env).model_dump(),
            "updated_product": plan_response(plan, env).model_dump(),
            "entity_id": event.get("entity_id"),
        }
    )


def _billing_updated(event: dict[str, Any]) -> dict[str, Any]:
    customer = get_customer(event["customer_id"])
    held = {sub.plan_id: sub for sub in customer.holdings.subscriptions}
    changes = [
        {
            "action": change["action"],
            _kind(held.get(change["plan_id"])): _snapshot(
                change["plan_id"], change["action"], held.get(change["plan_id"])
            ),
            "previous_attributes": None,
            "item_changes": [],
        }
        for change in event["plan_changes"]
    ]
    return _without_none(
        {
            "object": "billing.updated",
            "customer_id": event["customer_id"],
            "entity_id": event.get("entity_id"),
            "plan_changes": changes,
            "tags": [],
        }
    )


def _kind(sub: Subscription | None) -> str:
    return "purchase" if sub is not None and sub.one_off else "subscription"


def _snapshot(plan_id: str, action: str, sub: Subscription | None) -> dict[str, Any]:
    """The plan as it stands after the change (a plan that expired is no longer held)."""
    status = "expired" if sub is None or action == "expired" else sub.status
    if sub is not None and sub.one_off:
        return {"plan_id": plan_id, "status": status, "expires_at": sub.expires_at}
    return {
        "plan_id": plan_id,
        "status": status,
        "past_due": bool(sub and sub.past_due),
        "started_at": sub.started_at if sub else None,
        "canceled_at": sub.canceled_at if sub else None,
        "expires_at": sub.expires_at if sub else None,
        "trial_ends_at": sub.trial_ends_at if sub else None,
        "current_period_start": sub.current_period_start if sub else None,
        "current_period_end": sub.current_period_end if sub else None,
    }


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    """Optional fields Autumn leaves out when they have no value (entity_id)."""
    return {k: v for k, v in values.items() if v is not None or k != "entity_id"}


def _invoice(fields: dict[str, Any]) -> InvoiceRecord:
    """The invoice an `invoice.finalized` message carries (`app_webhooks.events`), its
    amounts exact again. A message queued before the event carried the record (the invoice
    already shaped) holds the same fields under the same names: the others are left out."""
    known = {name: fields[name] for name in InvoiceRecord._fields if name in fields}
    return InvoiceRecord(
        **{
            **known,
            "total": Decimal(str(fields["total"])),
            "plan_ids": tuple(fields["plan_ids"]),
        }
    )
