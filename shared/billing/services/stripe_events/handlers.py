"""Every Stripe event type we act on, and its handler: the one map `receive` dispatches by.

A type not in this map is recorded and answered 200 with no effect. Several types with one
behaviour map to one function.
"""

from __future__ import annotations

from billing.services.stripe_events import checkout_session, customer, invoice, subscription
from billing.services.stripe_events.command import EventHandler

HANDLERS: dict[str, EventHandler] = {
    "checkout.session.completed": checkout_session.completed,
    "checkout.session.expired": checkout_session.expired,
    "customer.subscription.created": subscription.synced,
    "customer.subscription.updated": subscription.updated,
    "customer.subscription.deleted": subscription.deleted,
    "invoice.created": invoice.created,
    "invoice.finalized": invoice.finalized,
    "invoice.paid": invoice.paid,
    "invoice.payment_failed": invoice.payment_failed,
    "invoice.updated": invoice.recorded,
    "invoice.voided": invoice.recorded,
    "customer.updated": customer.updated,
    "customer.deleted": customer.deleted,
}
