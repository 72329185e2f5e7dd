"""What an attach would do with a request, and what it would cost now and next cycle,
changing nothing: the operation behind billing.preview_attach and billing.preview_update's
plan change.

The decision is attach's own (`situation`), taken on the customer as it is:
the card on file is looked up when the customer has a Stripe customer (none yet means no
card, as attach would find). Nothing is written: no Stripe customer is created, no
purchase kept, no billing lock taken. A purchase is priced from the plan's terms; a change
of a paid subscription (an upgrade now) by Stripe's own invoice preview, so the prorations
shown are the ones Stripe would invoice.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from billing import clock
from billing.config import settings
from billing.domain.attach import AttachDecision, trial_end
from billing.domain.attach_preview import (
    Cycle,
    PlanMove,
    PreviewLine,
    bought_quantities,
    charged,
    held_quantities,
    next_cycle,
    period_end,
    purchase_lines,
    times,
    total,
)
from billing.domain.errors import InvalidRequest
from billing.domain.holdings import Subscription
from billing.domain.periods import overage_of, resets_with_period
from billing.domain.plans import Plan
from billing.domain.stripe_sync import plan_price_ids
from billing.services.billing.attempts import trial_running
from billing.services.billing.situation import (
    AttachPlan,
    AttachSituation,
    invoice_decision,
    situation,
)
from billing.services.billing.stacking import stack_change
from billing.services.customers.stripe_sync import with_live_stripe_customer
from billing.stripe_api import StripeFactory
from billing.stripe_api.changes import PRORATIONS, PlanChange
from billing.stripe_api.payments import sale_lines
from billing.stripe_api.previews import ChangePreview, ToldAs


@dataclass(frozen=True)
class AttachPreview:
    customer_id: str
    currency: str
    # What is due now.
    lines: tuple[PreviewLine, ...]
    incoming: tuple[PlanMove, ...]
    outgoing: tuple[PlanMove, ...]
    redirect_to_checkout: bool
    next_cycle: Cycle | None

    @property
    def total(self) -> Decimal:
        return total(self.lines)


def preview_of_attach(command: AttachPlan, stripe: StripeFactory) -> AttachPreview:
    return with_live_stripe_customer(
        command.customer_id, stripe, lambda: _preview_attach(command, stripe)
    )


def _preview_attach(command: AttachPlan, stripe: StripeFactory) -> AttachPreview:
    seen = situation(command, stripe)
    if command.invoice_mode is not None and not seen.plan.free:
        # Paid by an invoice sent to the customer: no page to go to, and refused as the
        # attach refuses it.
        invoiced = invoice_decision(seen)
        return _purchase(command, seen, invoiced, seen.leaving(invoiced))
    decision = seen.decide(has_card=False)
    stripe_customer = seen.customer.stripe_id
    if decision.flow != "grant" and stripe_customer:
        card = stripe().customers.usable_payment_method(stripe_customer)
        decision = seen.decide(has_card=card is not None)
    if decision.stacks is not None:
        return _stack(command, seen, decision.stacks, stripe)
    leaving = seen.leaving(decision)
    if leaving is not None and not leaving.free:
        if seen.plan.free:
            return _to_free(command, seen, decision, leaving)
        return _plan_change(command, seen, decision, leaving, stripe)
    return _purchase(command, seen, decision, leaving)


def _to_free(
    command: AttachPlan, seen: AttachSituation, decision: AttachDecision, leaving: Plan
) -> AttachPreview:
    """A paid plan left for a free one: nothing due, the switch at the paid period's end (or
    now with `plan_schedule: immediate`)."""
    now = clock.now_ms()
    ending = decision.replaces.current_period_end if decision.replaces is not None else None
    switch_at = ending if decision.flow == "schedule" and ending is not None else now
    return AttachPreview(
        customer_id=command.customer_id,
        currency=settings().currency,
        lines=(),
        incoming=(PlanMove(seen.plan, (), None if switch_at == now else switch_at),),
        outgoing=(_outgoing(seen, leaving, switch_at),),
        redirect_to_checkout=False,
        next_cycle=None,
    )


def _purchase(
    command: AttachPlan, seen: AttachSituation, decision: AttachDecision, leaving: Plan | None
) -> AttachPreview:
    """A plan bought anew (or in place of a free one): priced from its terms."""
    plan, now = seen.plan, clock.now_ms()
    lines: tuple[PreviewLine, ...] = ()
    cycle = None
    if decision.flow in ("checkout", "charge", "invoice"):
        sale_lines(
            plan, decision.packages
        )  # refused as attach refuses a plan without Stripe prices
    if decision.flow != "grant":
        trial_ends = trial_end(decision.trial, now)
        if trial_ends is not None:
            cycle = next_cycle(plan, seen.features, decision.packages, trial_ends)
        else:
            ends = period_end(plan, now)
            period = (now, ends) if ends is not None else None
            lines = purchase_lines(plan, seen.features, decision.packages, period)
            cycle = next_cycle(plan, seen.features, decision.packages, ends) if ends else None
    outgoing = () if leaving is None else (_outgoing(seen, leaving, now),)
    return AttachPreview(
        customer_id=command.customer_id,
        currency=settings().currency,
        lines=lines,
        incoming=(PlanMove(plan, bought_quantities(plan, decision.packages), None),),
        outgoing=outgoing,
        redirect_to_checkout=decision.flow == "checkout",
        next_cycle=cycle,
    )


def _plan_change(
    command: AttachPlan,
    seen: AttachSituation,
    decision: AttachDecision,
    leaving: Plan,
    stripe: StripeFactory,
) -> AttachPreview:
    """A paid subscription moved to another plan: now (prorated by Stripe) or at its period
    end (nothing due now)."""
    plan, now = seen.plan, clock.now_ms()
    stripe_customer = seen.customer.stripe_id
    if stripe_customer is None:
        raise InvalidRequest(
            "The customer's current plan has no live subscription in Stripe to change.",
            details=[{"field": "plan_id", "message": "no Stripe subscription to change"}],
        )
    at_once = decision.flow != "schedule"
    trialing, now = trial_running(decision, stripe_customer, now, stripe)
    # As the attach: a plan without a trial ends one running now, its usage billed by no one.
    ends_trial = at_once and trialing and decision.trial is None
    change = PlanChange(
        purchase_id="preview",  # names nothing: a preview writes nothing
        stripe_customer=stripe_customer,
        leaving_price_ids=plan_price_ids(leaving),
        line_items=sale_lines(plan, decision.packages),
        proration=PRORATIONS[command.proration_behavior] if at_once else "none",
        # The subscription that bills the plan held, as it recorded it (by price only for a
        # plan granted before the ids were recorded): never another one selling its price.
        subscription_id=decision.replaces.stripe_subscription_id if decision.replaces else None,
        ends_trial=ends_trial,
    )
    preview: ChangePreview = stripe().previews.change(
        change, ToldAs((plan, leaving), seen.features)
    )
    # A trial of the plan bought starting afresh: its first paid period starts at its end.
    restarted = trial_end(decision.trial, now) if at_once and trialing else None
    switch_at = restarted or preview.period_end_s * 1000
    billed = at_once and not trialing
    overage = _overage_lines(seen, decision, leaving, preview.period_end_s) if billed else ()
    cycle = next_cycle(plan, seen.features, decision.packages, switch_at)
    invoiced_now = ends_trial or (change.proration != "none" and not trialing)
    if not invoiced_now and cycle is not None:
        # Nothing is invoiced now (no proration, or a trial running on): the overage waits
        # for the subscription's next invoice.
        cycle, overage = cycle._replace(lines=cycle.lines + overage), ()
    return AttachPreview(
        customer_id=command.customer_id,
        currency=preview.currency,
        lines=preview.lines + overage,
        incoming=(
            PlanMove(
                plan,
                bought_quantities(plan, decision.packages),
                None if at_once else switch_at,
            ),
        ),
        outgoing=(_outgoing(seen, leaving, now if at_once else switch_at),),
        redirect_to_checkout=False,
        next_cycle=cycle,
    )


def _stack(
    command: AttachPlan, seen: AttachSituation, held: Subscription, stripe: StripeFactory
) -> AttachPreview:
    """One more of an add-on held: Stripe's invoice preview of the very quantity change the
    attach asks for (the rest of the period, prorated as asked); the next cycle bills the
    add-on at the quantity it then holds."""
    plan = seen.plan
    proration = PRORATIONS[command.proration_behavior]
    _live, change = stack_change(seen.customer, held, plan, proration, stripe)
    count = held.quantity + 1
    if change is None:  # Stripe bills that many already: the attach charges nothing
        ends_s = (held.current_period_end or 0) // 1000
        preview = ChangePreview(ends_s, settings().currency, ())
    else:
        preview = stripe().previews.quantities(change, ToldAs((plan,), seen.features))
    ends = preview.period_end_s * 1000
    cycle = next_cycle(plan, seen.features, {}, ends) if ends else None
    return AttachPreview(
        customer_id=command.customer_id,
        currency=preview.currency,
        lines=preview.lines,
        incoming=(PlanMove(plan, (), None),),
        outgoing=(),
        redirect_to_checkout=False,
        next_cycle=None if cycle is None else times(cycle, count),
    )


def _overage_lines(
    seen: AttachSituation, decision: AttachDecision, leaving: Plan, period_end_s: int
) -> tuple[PreviewLine, ...]:
    """The overage the plan left has accrued so far: an upgrade made now bills it on its own
    invoice (see period_end.upgrade_overage), the same amounts from the same grants."""
    grants = [
        g
        for g in seen.customer.holdings.grants
        if g.plan_id == leaving.id and resets_with_period(g)
    ]
    started_ms = decision.replaces.current_period_start if decision.replaces else None
    lines = []
    for grant in grants:
        overage = overage_of(grant)
        if overage is None or seen.customer.config.disable_overage_billing:
            continue
        feature = seen.features.get(overage.feature_id)
        lines.append(
            PreviewLine(
                display_name=feature.name if feature is not None else overage.feature_id,
                description=f"{overage.units} {overage.feature_id} past the allowance",
                # In whole cents, as the upgrade's invoice line charges it.
                amount=charged(overage.amount),
                plan_id=leaving.id,
                feature_id=overage.feature_id,
                quantity=overage.units,
                period=(started_ms, period_end_s * 1000) if started_ms is not None else None,
            )
        )
    return tuple(lines)


def _outgoing(seen: AttachSituation, leaving: Plan, effective_at: int) -> PlanMove:
    return PlanMove(leaving, held_quantities(seen.customer.holdings, leaving.id), effective_at)
