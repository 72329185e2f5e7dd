"""Bringing a customer's holdings in line with one of its Stripe subscriptions.

Called by the `customer.subscription.*` webhooks and by billing.update after it changed the
subscription in Stripe. It always re-reads the subscription from Stripe (an event's payload
is a snapshot that may be stale or out of order) and writes with a condition on the
subscription's mark (`store.stripe_timeline`): an event older than one already applied
changes nothing, and of two writers racing, the loser reads again. Running it twice, or for
events delivered in any order, ends in the state Stripe has now.
"""

from __future__ import annotations

from billing import clock
from billing.domain.attach import (
    INVOICE_FLOW,
    is_upgrade,
    left_behind,
    purchased_holdings,
    seats_kept,
)
from billing.domain.customers import Customer
from billing.domain.errors import StripeEventTooEarly
from billing.domain.holdings import Holdings, Subscription, holdings_of
from billing.domain.plans import Plan
from billing.domain.purchases import purchase_key
from billing.domain.stacks import stacks_synced
from billing.domain.stripe_subscriptions import StripeSubscription
from billing.domain.stripe_sync import (
    default_plan,
    held_for,
    packages_billed,
    plan_price_ids,
    prepaid_synced,
    sells,
    switched_in_stripe,
    synced,
)
from billing.observability import logger
from billing.services.app_webhooks import events as app_events
from billing.services.app_webhooks.events import (
    BillingUpdated,
    PlanChanged,
    ProductsUpdated,
    Scenario,
)
from billing.services.billing.period_end import close_ending_period
from billing.services.billing.purchases import grant_purchase
from billing.services.billing.switches import (
    Switch,
    pending_downgrade,
    shown_as_scheduled,
    switch_of,
)
from billing.services.retry import on_conflict
from billing.store import (
    catalog,
    customers,
    purchase_grants,
    purchases,
    stripe_subscriptions,
    stripe_timeline,
)
from billing.store.catalog import Catalog
from billing.store.writes import Write
from billing.stripe_api import StripeFactory


def sync_subscription(
    subscription_id: str,
    stripe: StripeFactory,
    event_created: int | None = None,
    *,
    refuse_early: bool = True,
) -> None:
    """`event_created`: the Unix time of the Stripe event that asked for it (None when
    billing.attach/update or an invoice event asks, right after its own change).
    `refuse_early`: a subscription event about a purchase paid but not granted yet is
    refused (Stripe delivers it again); other callers just leave it to that event."""
    on_conflict(lambda: _sync(subscription_id, stripe, event_created, refuse_early))


def _sync(
    subscription_id: str, stripe: StripeFactory, event_created: int | None, refuse_early: bool
) -> None:
    mark = stripe_timeline.mark(subscription_id)
    if event_created is not None and event_created < mark.event_created:
        return  # a newer event of this subscription was applied: its state is newer
    state = stripe().subscriptions.retrieve(subscription_id)
    if state is None:
        return
    customer = customers.load_by_stripe_id(state.customer)
    if customer is None:
        return  # not one of ours (or no longer linked): acknowledged, nothing written
    current = catalog.load()
    held_plans = {
        sub.id: plan
        for sub in customer.holdings.subscriptions
        if (plan := current.version(sub.plan_id, sub.plan_version)) is not None
    }
    switch = switch_of(state.id, current, customer)
    if close_ending_period(customer, held_plans, state, switch):
        # Its overage recorded and its balances reset: read them again before it leaves.
        _sync(subscription_id, stripe, event_created, refuse_early)
        return
    if switch is not None and _switched_now(state, switch):
        # The plan switched to is held now, billed by this subscription: sync it.
        _sync(subscription_id, stripe, event_created, refuse_early)
        return
    held = held_for(customer.holdings, held_plans, state)
    if held is None:
        if refuse_early:
            _refuse_before_the_grant(state, customer)
        return
    moved_to = (
        None
        if state.ended
        else switched_in_stripe(held_plans[held.id], _every_version(current), state)
    )
    if moved_to is not None and switch is not None and switch.purchase.status == "pending":
        moved_to = None  # the change scheduled here: granted by its switch, above
    if moved_to is not None and _own_change_granted(customer, held, state, current, stripe):
        # Our own change (an upgrade), paid: its grant came first here. Sync what it holds.
        _sync(subscription_id, stripe, event_created, refuse_early)
        return
    now = clock.now_ms()
    raised = stripe_timeline.mark_raised(subscription_id, mark, event_created, now)
    if moved_to is not None:
        _follow_plan_changed_in_stripe(
            customer, held, held_plans[held.id], moved_to, state, current, [raised], now
        )
        return
    if state.ended:
        shown = shown_as_scheduled(switch, customer.holdings)
        _expire(customer, held, held_plans[held.id], current, shown, [raised], now)
        return
    cause = f"{subscription_id}:{mark.revision + 1}"
    _follow(customer, held, held_plans[held.id], state, switch, (raised, cause, now))


def _follow(
    customer: Customer,
    held: Subscription,
    plan: Plan,
    state: StripeSubscription,
    switch: Switch | None,
    write: tuple[Write, str, int],
) -> None:
    """The plan held, still billed by the subscription, takes its state as Stripe has it (its
    period, status, cancellation, prepaid quantities), told when that changes. `write`: the
    subscription's mark raised (joins the write), the cause told, and now."""
    raised, cause, now = write
    after = synced(held, plan, state)
    replacing = pending_downgrade(switch)
    if replacing is not None and not state.canceling:
        # As Autumn shows a downgrade scheduled at the period end: the plan held is canceling
        # (since the downgrade was asked for), and ends when the plan scheduled starts.
        after = after._replace(
            canceled_at=held.canceled_at or replacing.purchase.created_at,
            expires_at=replacing.at_ms,
        )
    regranted = prepaid_synced(customer.holdings.grants, plan, state)
    regranted += stacks_synced(customer.holdings.grants, plan, held, after)
    # A move to a free plan at the period end is a cancellation: taken back, it is dropped.
    taken_back = switch is not None and switch.plan.free and not state.canceling
    dropped = shown_as_scheduled(switch, customer.holdings) if taken_back else ()
    if after == held and not regranted and not dropped:
        return
    # Its purchase follows: scheduled to end while a cancellation or a change away from it
    # is set for the period end, granted (active) again once that is taken back.
    away = (
        frozenset({after.id})
        if shown_as_scheduled(switch, customer.holdings) and not dropped
        else frozenset()
    )
    stripe_subscriptions.save(
        customer,
        changed=[after],
        regranted=regranted,
        removed=Holdings(subscriptions=dropped),
        also=[raised, *purchase_grants.followed([after], scheduled_away=away)],
        now_ms=now,
    )
    # A downgrade scheduled is told as one when it is scheduled, and as a renewal by
    # whoever takes it back (billing/pending): not as a cancellation here.
    if replacing is None and (held.canceled_at is None) != (after.canceled_at is None):
        scenario: Scenario = "renew" if after.canceled_at is None else "cancel"
        _tell(customer, after, scenario, cause)
    if held.quantity != after.quantity:
        # Another one of an add-on held (attached again), or one of them ended (cancelled).
        _tell(customer, after, "new" if after.quantity > held.quantity else "expired", cause)
    if held.past_due != after.past_due and customer.id is not None:
        # Whoever changes past_due tells: the invoice's own event may come after this one
        # and then find nothing left to change.
        tell_payment_status(customer.id, [after], after.past_due, cause)


def _every_version(current: Catalog) -> list[Plan]:
    return [plan for versions in current.plan_versions.values() for plan in versions]


def _own_change_granted(
    customer: Customer,
    held: Subscription,
    state: StripeSubscription,
    current: Catalog,
    stripe: StripeFactory,
) -> bool:
    """Whether the subscription bills another plan because of our own change to it (an
    upgrade paid, whose grant has not come yet: the subscription's event can come before
    the attach or the invoice's event grants it): its pending purchase, replacing `held`
    and found by what it buys (or named by the subscription's latest invoice, paid), is
    granted now. Stripe switches the items only once the change is paid. True when it is
    granted (by this call or another one just before)."""
    found = [
        purchases.latest(purchase_key(customer.internal_id, plan))
        for versions in current.plan_versions.values()
        for plan in versions
        if plan.id != held.plan_id and sells(plan, state)
    ]
    if state.latest_invoice is not None:
        paid = stripe().invoices.paid_for(state.latest_invoice)
        if paid is not None and paid.paid and paid.purchase_id is not None:
            found.append(purchases.load(paid.purchase_id))
    for purchase in found:
        if purchase is None or purchase.status != "pending" or purchase.replaces != held.id:
            continue
        if purchase.internal_id != customer.internal_id:
            continue
        if grant_purchase(purchase.id, state.id):
            return True
        again = purchases.load(purchase.id)
        if again is not None and again.status != "pending":
            return True
    return False


def _follow_plan_changed_in_stripe(
    customer: Customer,
    held: Subscription,
    held_plan: Plan,
    plan: Plan,
    state: StripeSubscription,
    current: Catalog,
    also: list[Write],
    now: int,
) -> None:
    """The subscription's items were switched to another plan's prices in Stripe itself
    (the portal, Stripe's dashboard): what Stripe bills is the truth, so the plan held
    becomes that plan, billed by the same subscription, with the packages it bills. The
    purchase of the plan left ends."""
    added = purchased_holdings(
        plan, current.features, packages_billed(plan, state), now, clock.new_internal_id
    )
    sub = synced(added.subscriptions[0], plan, state)
    left = left_behind(customer.holdings, held)
    added = seats_kept(added._replace(subscriptions=(sub,)), left, current.features)
    also = [*also, *purchase_grants.followed(ended=[held])]
    if not plan.in_use:
        also.append(catalog.mark_in_use(plan))
    logger.info("plan changed in Stripe", extra={"plan": plan.id, "left": held.plan_id})
    stripe_subscriptions.save(
        customer,
        removed=left,
        added=added,
        also=also,
        staged_as=f"moved:{held.id}:{plan.id}:{plan.version}",
        now_ms=now,
    )
    scenario: Scenario = "upgrade" if is_upgrade(held_plan, plan) else "downgrade"
    _tell(customer, sub, scenario, f"moved:{held.id}:{plan.id}:{plan.version}")


def billing_subscription(
    customer: Customer, held: Subscription, plan: Plan, stripe: StripeFactory
) -> StripeSubscription | None:
    """The live Stripe subscription billing `held`: the one it recorded (None once that has
    ended); for a plan granted before the ids were recorded, the customer's live
    subscription selling one of its prices."""
    if customer.stripe_id is None:
        return None
    if held.stripe_subscription_id is None:
        return stripe().subscriptions.selling(customer.stripe_id, plan_price_ids(plan))
    live = stripe().subscriptions.retrieve(held.stripe_subscription_id)
    return live if live is not None and live.paid_for else None


def expire_now(customer: Customer, held: Subscription, plan: Plan, current: Catalog) -> None:
    """Ends a plan that Stripe does not bill (a free one) at once, as a Stripe subscription
    ending would."""
    _expire(customer, held, plan, current, (), [], clock.now_ms())


def _refuse_before_the_grant(state: StripeSubscription, customer: Customer) -> None:
    """An event about a subscription whose purchase is paid but not granted yet (its invoice
    or checkout event still to come) is refused, so Stripe delivers it again once it is."""
    if state.ended or not state.paid_for or state.purchase_id is None:
        return
    if awaits_grant(state.purchase_id, customer):
        raise StripeEventTooEarly


def awaits_grant(purchase_id: str, customer: Customer) -> bool:
    """Whether the customer's purchase is pending and will be granted once its payment is
    known. A new purchase of a plan the customer holds already (a second checkout of it,
    paid after the plan was bought another way) never will: an event about its
    subscription is not refused for it, or Stripe would deliver it again for days."""
    purchase = purchases.load(purchase_id)
    if purchase is None or purchase.internal_id != customer.internal_id:
        return False
    if purchase.status != "pending" or purchase.flow == INVOICE_FLOW:
        # Collected by invoice: its subscription is active before it is paid, and the
        # invoice's payment (maybe weeks away) grants it, not a redelivered event.
        return False
    return purchase.replaces is not None or not any(
        s.plan_id == purchase.plan_id and not s.one_off and s.status == "active"
        for s in customer.holdings.subscriptions
    )


def _switched_now(state: StripeSubscription, switch: Switch) -> bool:
    """The change is granted once Stripe bills the new plan (then billed by this Stripe
    subscription), or, for a free plan, once the paid subscription has ended. True if this
    call granted it."""
    if switch.purchase.status != "pending":
        return False
    started = (state.current_period_start or 0) * 1000 >= switch.at_ms
    if started and not state.ended and sells(switch.plan, state):
        return grant_purchase(switch.purchase.id, state.id)
    if state.ended and switch.plan.free:
        return grant_purchase(switch.purchase.id)
    return False


def _expire(
    customer: Customer,
    held: Subscription,
    plan: Plan,
    current: Catalog,
    shown: tuple[Subscription, ...],
    also: list[Write],
    now: int,
) -> None:
    """The plan ends with its Stripe subscription: its subscription, grants and flags go,
    a change scheduled on it is dropped, and the group's default plan is given back."""
    holdings = customer.holdings
    leaving = Holdings(
        subscriptions=(held, *shown),
        grants=tuple(g for g in holdings.grants if g.plan_id == held.plan_id),
        flags=tuple(f for f in holdings.flags if f.plan_id == held.plan_id),
    )
    fallback = default_plan(current.plans(), plan)
    added = Holdings()
    if fallback is not None and not any(s.plan_id == fallback.id for s in holdings.subscriptions):
        added = holdings_of(fallback, current.features, now, clock.new_internal_id, True)
        if not fallback.in_use:
            also = [*also, catalog.mark_in_use(fallback)]
    # The purchase that granted the plan ends with it.
    also = [*also, *purchase_grants.followed(ended=[held])]
    logger.info("plan expired", extra={"plan": held.plan_id, "subscription": held.id})
    stripe_subscriptions.save(
        customer, removed=leaving, added=added, also=also, staged_as=f"expire:{held.id}", now_ms=now
    )
    _tell(customer, held, "expired", f"expired:{held.id}")
    for given in added.subscriptions:
        _tell(customer, given, "new", f"default:{held.id}")


def tell_payment_status(
    customer_id: str, changed: list[Subscription], past_due: bool, cause: str
) -> None:
    """The application hears that plans became past due (or were paid again)."""
    cause = f"{cause}:{'past_due' if past_due else 'paid'}"
    if past_due:
        for sub in changed:
            app_events.publish(
                ProductsUpdated(
                    cause=cause,
                    customer_id=customer_id,
                    plan_id=sub.plan_id,
                    plan_version=sub.plan_version,
                    scenario="past_due",
                )
            )
    changes = tuple(PlanChanged("updated", sub.plan_id) for sub in changed)
    app_events.publish(BillingUpdated(cause=cause, customer_id=customer_id, plan_changes=changes))


def _tell(customer: Customer, sub: Subscription, scenario: Scenario, cause: str) -> None:
    """The application's webhooks hear of the change (never fails the change)."""
    if customer.id is None:
        return  # a customer without an id cannot be read back by the application
    app_events.publish(
        ProductsUpdated(
            cause=cause,
            customer_id=customer.id,
            plan_id=sub.plan_id,
            plan_version=sub.plan_version,
            scenario=scenario,
        )
    )
