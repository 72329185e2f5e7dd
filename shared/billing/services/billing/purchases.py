"""Granting a paid purchase: exactly once, whoever learns first that it was paid (the
attach call that charged the card on file, or a Stripe webhook).

A purchase paid after the customer's plans moved on (the plan held already, the paid plan it
was to replace gone, another paid main plan of its group held) is never granted: granting it
would put two main plans in one group, or a plan in place of one already ended. Its invoice
is refunded (a credit note) and a subscription it made for itself ended."""

from __future__ import annotations

from billing import clock
from billing.domain.attach import (
    current_in_group,
    is_upgrade,
    left_behind,
    purchased_holdings,
    seats_kept,
)
from billing.domain.customers import Customer
from billing.domain.errors import StoreUnavailable
from billing.domain.holdings import Holdings, Subscription, combined
from billing.domain.plans import Plan
from billing.domain.purchases import PendingPurchase, PurchaseStatus, purchase_id
from billing.observability import logger
from billing.services.app_webhooks import events as app_events
from billing.services.app_webhooks.events import AppEvent, ProductsUpdated, Scenario
from billing.services.billing.late_overage import late_record
from billing.services.retry import on_conflict
from billing.store import catalog, customers, purchase_grants, purchases
from billing.store.catalog import Catalog
from billing.store.purchases import PurchaseAlreadyGranted
from billing.store.writes import Write
from billing.stripe_api import StripeFactory


def grant_purchase(purchase_id: str, stripe_subscription_id: str | None = None) -> bool:
    """Grants the purchase if it is still pending; True if this call granted it. A purchase
    whose customer is gone (deleted, or re-created under its id) grants nothing.
    `stripe_subscription_id`: the Stripe subscription that bills a recurring paid plan,
    recorded on it (the sync and renewals find the plan by it)."""
    try:
        return on_conflict(lambda: _grant(purchase_id, stripe_subscription_id))
    except PurchaseAlreadyGranted:
        return False
    except StoreUnavailable:
        # A grant whose answer was lost may have landed (its events with it, in the outbox):
        # read back before failing, so a retried attach finds it done, not "already held".
        granted = purchases.load(purchase_id)
        if granted is not None and granted.status == "granted":
            return True
        raise


def drop_pending(purchase_id: str) -> bool:
    """A purchase whose payment page expired unpaid is abandoned (a granted one is kept);
    True if this call closed it. Attaching again makes a new attempt."""
    return purchases.drop_pending(purchase_id)


def reopen(closed: PendingPurchase) -> PendingPurchase:
    """A new attempt at a purchase whose attempt was closed (a downgrade taken back for a
    plan change that then was not paid, so it is scheduled again): the same terms, a new
    attempt number, so its Stripe requests are new ones."""

    def attempt() -> PendingPurchase:
        latest = purchases.latest(closed.key)
        number = (latest.attempt if latest is not None else closed.attempt) + 1
        fresh = closed.model_copy(
            update={
                "id": purchase_id(closed.key, number),
                "attempt": number,
                "status": "pending",
                "created_at": clock.now_ms(),
                "checkout_session_id": None,
                "invoice_id": None,
                "declined": False,
            }
        )
        return purchases.open_attempt(fresh, None, [])

    return on_conflict(attempt)


def refund_if_stale(
    purchase_id: str,
    invoice_id: str | None,
    subscription_id: str | None,
    stripe: StripeFactory,
    *,
    checkout_session_id: str | None = None,
) -> bool:
    """A payment of a purchase that can no longer be granted is given back: its attempt was
    closed meanwhile (superseded by a newer one, abandoned), or the customer's plans moved
    on, or the customer is gone. A paid invoice is refunded by a credit note; a
    payment-mode Checkout Session (a one-off purchase: no invoice) by a refund of its
    payment; a subscription the purchase made for itself is ended (it bills a plan nobody
    holds). The purchase is then refunded. True if this call did it."""
    purchase = purchases.load(purchase_id)
    if purchase is None or not _paid_too_late(purchase):
        return False
    # Stripe first (each call keyed once), our record last: a failure is retried whole.
    if checkout_session_id is not None:
        stripe().checkout.refund(checkout_session_id)
    elif invoice_id is not None:
        stripe().invoices.refund(invoice_id)
    current = catalog.load()
    plan = current.version(purchase.plan_id, purchase.plan_version)
    one_off = plan is not None and plan.one_off
    if subscription_id is not None and not purchase.replaces_paid and not one_off:
        stripe().subscriptions.cancel_now(subscription_id)
    logger.warning("stale payment refunded", extra={"purchase": purchase_id})
    return purchases.close(purchase_id, "refunded", closing=_REFUNDABLE)


# An attempt paid in these statuses was never granted: a payment of it is given back.
_REFUNDABLE: tuple[PurchaseStatus, ...] = ("pending", "abandoned", "superseded")


def _paid_too_late(purchase: PendingPurchase) -> bool:
    """Whether a payment of `purchase` is to be given back rather than granted."""
    if purchase.status in ("abandoned", "superseded"):
        return True  # closed here (and in Stripe) before the payment came
    if purchase.status != "pending":
        return False
    customer = customers.load(purchase.customer_id)
    if customer is None or customer.internal_id != purchase.internal_id:
        return True
    current = catalog.load()
    plan = current.version(purchase.plan_id, purchase.plan_version)
    return plan is not None and _stale(purchase, plan, customer.holdings, current)


def _grant(purchase_id: str, stripe_subscription_id: str | None) -> bool:
    purchase = purchases.load(purchase_id)
    if purchase is None or purchase.status != "pending":
        return False
    customer = customers.load(purchase.customer_id)
    if customer is None or customer.internal_id != purchase.internal_id:
        logger.warning("paid purchase of a customer that is gone", extra={"purchase": purchase_id})
        return False
    current = catalog.load()
    plan = current.version(purchase.plan_id, purchase.plan_version)
    if plan is None:
        # Versions customers may hold are archived, never deleted: this is a bug to see.
        raise LookupError(f"plan {purchase.plan_id} v{purchase.plan_version} is gone")
    if _stale(purchase, plan, customer.holdings, current):
        # Paid after the customer's plans moved on (an old invoice paid from its link, a
        # page paid after the plan was bought another way): never granted beside another
        # plan of the group, or in place of a plan already gone.
        logger.warning("paid purchase no longer fits", extra={"purchase": purchase_id})
        return False
    now = clock.now_ms()
    added = purchased_holdings(
        plan,
        current.features,
        purchase.packages,
        now,
        clock.new_internal_id,
        trial_ends_at=purchase.trial_ends_at,
    )
    if stripe_subscription_id is not None and plan.stripe is not None and not plan.one_off:
        added = billed_by(added, stripe_subscription_id)
    added = granted_by(added, purchase.id)
    held = customer.holdings
    leaving = next((s for s in held.subscriptions if s.id == purchase.replaces), None)
    removed = left_behind(held, leaving) if leaving is not None else Holdings()
    added = seats_kept(added, removed, current.features)
    # A change at the period end was shown as a scheduled subscription until now.
    shown = tuple(s for s in held.subscriptions if s.status == "scheduled" and s.plan_id == plan.id)
    removed = combined([removed, Holdings(subscriptions=shown)])
    # The application's events are kept in the outbox with the grant itself: once granted,
    # they are told even if this function stops right after.
    going = app_events.outgoing(_told(purchase, plan, leaving, current))
    also = [] if plan.in_use else [catalog.mark_in_use(plan)]
    late = _late_overage(customer, purchase, leaving, current, now)
    also += [] if late is None else [late]
    purchase_grants.grant(customer, purchase, added, removed, also + going.writes(), now)
    app_events.send(going)
    return True


def _late_overage(
    customer: Customer,
    purchase: PendingPurchase,
    leaving: Subscription | None,
    current: Catalog,
    now: int,
) -> Write | None:
    """The old plan's overage used since an immediate upgrade's attach recorded it, recorded
    with the grant that ends its balances (services/billing/late_overage)."""
    if leaving is None or not purchase.replaces_paid or purchase.flow == "schedule":
        return None
    left = current.version(leaving.plan_id, leaving.plan_version)
    return None if left is None else late_record(customer, purchase.id, leaving, left, now)


def _told(
    purchase: PendingPurchase, plan: Plan, leaving: Subscription | None, current: Catalog
) -> list[AppEvent]:
    """What the grant tells the application."""
    told: list[tuple[str, int, Scenario]]
    if purchase.metadata.get(AFTER_CANCEL) and leaving is not None:
        # The default plan given when a cancelled plan ends: told as that plan's expiry and
        # the default plan's start, as a cancellation with no default plan shown is told.
        told = [(leaving.plan_id, leaving.plan_version, "expired"), (plan.id, plan.version, "new")]
    else:
        told = [(plan.id, plan.version, _scenario(current, plan, leaving))]
    return [
        ProductsUpdated(
            cause=purchase.id if scenario != "expired" else f"expired:{purchase.id}",
            customer_id=purchase.customer_id,
            plan_id=plan_id,
            plan_version=version,
            scenario=scenario,
        )
        for plan_id, version, scenario in told
    ]


# In the metadata of the default plan's purchase made when a plan is cancelled at its
# period end (services/attach.schedule_default_plan).
AFTER_CANCEL = "billing_after_cancel"


def billed_by(added: Holdings, stripe_subscription_id: str) -> Holdings:
    """The holdings granted, their subscription marked as billed by the Stripe one."""
    billed = tuple(
        s._replace(stripe_subscription_id=stripe_subscription_id) for s in added.subscriptions
    )
    return added._replace(subscriptions=billed)


def granted_by(added: Holdings, purchase_id: str) -> Holdings:
    """The holdings granted, their subscription naming the purchase that granted it (its
    lifecycle follows the subscription from then on)."""
    named = tuple(s._replace(purchase_id=purchase_id) for s in added.subscriptions)
    return added._replace(subscriptions=named)


def _scenario(current: Catalog, plan: Plan, leaving: Subscription | None) -> Scenario:
    """What the application is told: a plan of a group the customer had none of is new."""
    left = current.version(leaving.plan_id, leaving.plan_version) if leaving else None
    if left is None:
        return "new"
    return "upgrade" if is_upgrade(left, plan) else "downgrade"


def _stale(purchase: PendingPurchase, plan: Plan, held: Holdings, current: Catalog) -> bool:
    """True when granting the purchase now would not do what it was bought for: the plan
    is held already, the plan it was to replace is gone, or another main plan of the group
    is held in its place."""
    if plan.one_off:
        return False
    active = [s for s in held.subscriptions if s.status == "active" and not s.one_off]
    if any(s.plan_id == plan.id for s in active):
        return True
    if plan.add_on:
        return False
    if purchase.replaces_paid and all(s.id != purchase.replaces for s in active):
        return True
    held_plans = {
        s.id: found for s in active if (found := current.version(s.plan_id, s.plan_version))
    }
    in_group = current_in_group(plan, held, held_plans)
    # A free plan held in the group is simply left for the paid one (as when it was bought).
    return (
        in_group is not None
        and in_group.id != purchase.replaces
        and not held_plans[in_group.id].free
    )
