"""Every Stripe event type we act on: importing this module registers their handlers.

One module per type, each imported below (see the package's docstring).
"""

from __future__ import annotations

from billing.services.stripe_events import (  # noqa: F401 (importing registers them)
    checkout_session_completed,
    checkout_session_expired,
    customer_deleted,
    customer_subscription_created,
    customer_subscription_deleted,
    customer_subscription_updated,
    customer_updated,
    invoice_created,
    invoice_finalized,
    invoice_paid,
    invoice_payment_failed,
    invoice_updated,
    invoice_voided,
)
