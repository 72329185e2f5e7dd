"""Another one of a recurring add-on the customer holds (an attach of it again), as Autumn
stacks it: the Stripe subscription that bills the add-on bills its price at one more, and
its allowances grow by the plan's own (`domain.stripe_sync.stacks_synced`). Shared by the
attach and its preview, which price the very same change."""

from __future__ import annotations

from billing import clock
from billing.config import settings
from billing.domain.customers import Customer
from billing.domain.errors import InvalidRequest
from billing.domain.holdings import Subscription
from billing.domain.plans import Plan
from billing.domain.stacks import stack_billed
from billing.domain.stripe_subscriptions import StripeSubscription
from billing.services.billing.subscription_sync import billing_subscription
from billing.store import stack_requests, stripe_timeline
from billing.store.stack_requests import StackRequest
from billing.stripe_api import StripeFactory
from billing.stripe_api.changes import Proration, QuantityChange


def stack_change(
    customer: Customer,
    held: Subscription,
    plan: Plan,
    proration: Proration,
    stripe: StripeFactory,
    request_key: str | None = None,
) -> tuple[StripeSubscription, QuantityChange | None]:
    """The live Stripe subscription billing the add-on `held`, and the change that bills one
    more of it than is held here; None when Stripe bills that many already (a retry of an
    attach whose answer was lost: nothing is charged again). The change is keyed by the
    subscription's revision (raised by each sync that lands) and the quantity asked; with
    `request_key` (the attach's Idempotency-Key) the first try's quantity and key are kept,
    so its retry after the sync landed still asks for that quantity, not one more. A
    preview passes none and writes nothing."""
    live = billing_subscription(customer, held, plan, stripe)
    base = plan.stripe.base_price_id if plan.stripe is not None else None
    billed = next((i.quantity for i in live.items if i.price_id == base), None) if live else None
    if live is None or base is None or billed is None:
        raise InvalidRequest(
            "The add-on held has no live subscription in Stripe to add another one to.",
            details=[{"field": "plan_id", "message": "no Stripe subscription bills it"}],
        )
    wanted = int(held.quantity) + 1
    revision = stripe_timeline.mark(live.id).revision
    asked = StackRequest(wanted, f"{live.id}:{revision}:stack:{wanted}")
    if request_key is not None:
        # A retry asks for what its first try asked (billed already if that went through).
        kept_s = settings().idempotency_ttl_seconds
        owner = customer.internal_id
        asked = stack_requests.claim(owner, request_key, asked, clock.now_ms(), kept_s)
    if billed >= asked.quantity:
        return live, None
    change = QuantityChange(
        subscription_id=live.id,
        quantities={base: asked.quantity},
        proration=proration,
        change_id=asked.change_id,
    )
    return live, change


def unstack_change(
    held: Subscription, plan: Plan, live: StripeSubscription, credit_unused: bool
) -> QuantityChange | None:
    """One of an add-on held stacked taken away now (as Autumn's cancel of the add-on ends
    one of them): its Stripe subscription bills one less, the unused time of that one
    credited (unless asked not to). None when the add-on is held once: cancelling it ends
    its subscription."""
    base = plan.stripe.base_price_id if plan.stripe is not None else None
    if held.quantity <= 1 or base is None or stack_billed(plan, live) is None:
        return None
    wanted = int(held.quantity) - 1
    revision = stripe_timeline.mark(live.id).revision
    return QuantityChange(
        subscription_id=live.id,
        quantities={base: wanted},
        proration="always_invoice" if credit_unused else "none",
        change_id=f"{live.id}:{revision}:unstack:{wanted}",
    )
