"""billing.attach: give a customer a plan, granted only once it is paid for.

The use case the route calls; the operation itself (the billing lock, the purchase and its
attempts, the Stripe objects keyed by them) is `attaching.attach_plan`, which billing.update's
plan change and the attach after a saved card (setup_payment) run too.
"""

from __future__ import annotations

from billing.services.billing.attaching import AttachResult, attach_plan
from billing.services.billing.situation import AttachPlan
from billing.stripe_api import StripeFactory


def attach(command: AttachPlan, stripe: StripeFactory) -> AttachResult:
    return attach_plan(command, stripe)
