"""customers.advance_test_clock: move a customer's Stripe test clock forward (test mode
only), so renewals, trial ends and failed payments happen now rather than in a month; their
webhooks bring the changes here as they would in production."""

from __future__ import annotations

from typing import NamedTuple

from billing.config import settings
from billing.domain.errors import InvalidRequest
from billing.services.customers.get import get_customer
from billing.services.customers.stripe_sync import linked_to_stripe
from billing.stripe_api import StripeFactory


class AdvanceTestClock(NamedTuple):
    customer_id: str
    # Epoch milliseconds, rounded down to whole seconds (Stripe's clocks tick in seconds).
    frozen_time: int


class AdvancedClock(NamedTuple):
    customer_id: str
    frozen_time: int  # ms
    status: str


def advance_test_clock(command: AdvanceTestClock, stripe: StripeFactory) -> AdvancedClock:
    if settings().environment == "live":
        raise InvalidRequest(
            "Test clocks exist in Stripe test mode only.",
            details=[{"field": "customer_id", "message": "this deployment uses live Stripe"}],
        )
    # A customer with no Stripe customer yet gets one (on a clock of its own) first.
    customer = linked_to_stripe(get_customer(command.customer_id), command.customer_id, stripe)
    assert customer.stripe_id is not None  # linked_to_stripe's promise
    clock = stripe().test_clocks.advance(customer.stripe_id, command.frozen_time // 1000)
    return AdvancedClock(command.customer_id, clock.frozen_time_s * 1000, clock.status)
