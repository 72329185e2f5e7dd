"""billing.preview_attach: the request is attach's own; the answer is what the SDKs'
PreviewAttachResponse parses (amounts in major units, moments in epoch milliseconds)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from billing.api.wire.attach import AttachRequest
from billing.api.wire.common import WireResponse, omitted_when_none
from billing.api.wire.plans import PlanResponse, plan_response
from billing.domain.attach_preview import Cycle, Period, PlanMove, PreviewLine, total
from billing.domain.environment import Environment
from billing.services.billing.previews import AttachPreview, InvoiceCredit


class PreviewAttachRequest(AttachRequest):
    """The same fields as billing.attach: the preview is of that very attach."""


class PeriodResponse(WireResponse):
    start: int
    end: int


class LineItemResponse(WireResponse):
    display_name: str
    description: str
    subtotal: Decimal
    total: Decimal
    plan_id: str
    feature_id: str | None
    quantity: Decimal
    period: PeriodResponse | None = omitted_when_none()


class UsageLineItemResponse(WireResponse):
    display_name: str
    plan_id: str
    feature_id: str | None
    period: PeriodResponse | None = omitted_when_none()


class NextCycleResponse(WireResponse):
    starts_at: int
    subtotal: Decimal
    total: Decimal
    line_items: list[LineItemResponse]
    usage_line_items: list[UsageLineItemResponse]


class FeatureQuantityResponse(WireResponse):
    feature_id: str
    quantity: Decimal


class PlanChangeResponse(WireResponse):
    plan_id: str
    feature_quantities: list[FeatureQuantityResponse]
    effective_at: int | None
    canceled_at: int | None = None
    expires_at: int | None = None
    plan: PlanResponse


class InvoiceCreditsResponse(WireResponse):
    """The customer's Stripe credit, positive, and the part of it the invoice made now uses
    (taken off `total`; `subtotal` is before it)."""

    balance: Decimal
    currency: str
    applied: Decimal


def credits_response(credit: InvoiceCredit | None, currency: str) -> InvoiceCreditsResponse | None:
    if credit is None:
        return None
    return InvoiceCreditsResponse(balance=credit.balance, currency=currency, applied=credit.applied)


class PreviewAttachResponse(WireResponse):
    customer_id: str
    line_items: list[LineItemResponse]
    subtotal: Decimal
    total: Decimal
    currency: str
    incoming: list[PlanChangeResponse]
    outgoing: list[PlanChangeResponse]
    redirect_to_checkout: bool
    checkout_type: Literal["stripe_checkout"] | None
    next_cycle: NextCycleResponse | None = omitted_when_none()
    invoice_credits: InvoiceCreditsResponse | None = omitted_when_none()


def preview_attach_response(preview: AttachPreview, env: Environment) -> PreviewAttachResponse:
    cycle = preview.next_cycle
    return PreviewAttachResponse(
        customer_id=preview.customer_id,
        line_items=[line_response(line) for line in preview.lines],
        subtotal=preview.total,
        total=preview.total - (preview.credit.applied if preview.credit else 0),
        currency=preview.currency,
        incoming=[move_response(move, env) for move in preview.incoming],
        outgoing=[move_response(move, env) for move in preview.outgoing],
        redirect_to_checkout=preview.redirect_to_checkout,
        checkout_type="stripe_checkout" if preview.redirect_to_checkout else None,
        next_cycle=None if cycle is None else cycle_response(cycle),
        invoice_credits=credits_response(preview.credit, preview.currency),
    )


def line_response(line: PreviewLine) -> LineItemResponse:
    # No discounts or taxes yet: what is charged is the subtotal.
    return LineItemResponse(
        display_name=line.display_name,
        description=line.description,
        subtotal=line.amount,
        total=line.amount,
        plan_id=line.plan_id,
        feature_id=line.feature_id,
        quantity=line.quantity,
        period=_period(line.period),
    )


def cycle_response(cycle: Cycle) -> NextCycleResponse:
    amount = total(cycle.lines)
    return NextCycleResponse(
        starts_at=cycle.starts_at,
        subtotal=amount,
        total=amount,
        line_items=[line_response(line) for line in cycle.lines],
        usage_line_items=[
            UsageLineItemResponse(
                display_name=usage.display_name,
                plan_id=usage.plan_id,
                feature_id=usage.feature_id,
                period=_period(usage.period),
            )
            for usage in cycle.usage_lines
        ],
    )


def move_response(move: PlanMove, env: Environment) -> PlanChangeResponse:
    return PlanChangeResponse(
        plan_id=move.plan.id,
        feature_quantities=[
            FeatureQuantityResponse(feature_id=feature_id, quantity=quantity)
            for feature_id, quantity in move.feature_quantities
        ],
        effective_at=move.effective_at,
        plan=plan_response(move.plan, env),
    )


def _period(period: Period | None) -> PeriodResponse | None:
    return None if period is None else PeriodResponse(start=period[0], end=period[1])
