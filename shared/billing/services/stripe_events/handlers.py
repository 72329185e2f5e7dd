"""Every Stripe event type we act on: importing this module registers their handlers.

One module per type, each imported below (see the package's docstring).
"""

from __future__ import annotations

from billing.services.stripe_events import (  # noqa: F401 (importing registers them)
    checkout_session_completed,
    customer_subscription_created,
    customer_subscription_deleted,
    customer_subscription_updated,
    invoice_paid,
)
