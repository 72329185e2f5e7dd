"""billing.preview_update: the request is update's own; the answer is what the SDKs'
PreviewUpdateResponse parses (amounts in major units, a credit negative; moments in epoch
milliseconds), with the `intent` the update would carry out."""

from __future__ import annotations

from decimal import Decimal

from billing.api.wire.common import WireResponse, omitted_when_none
from billing.api.wire.preview_attach import (
    InvoiceCreditsResponse,
    LineItemResponse,
    NextCycleResponse,
    PlanChangeResponse,
    credits_response,
    cycle_response,
    line_response,
    move_response,
)
from billing.api.wire.update import UpdateRequest
from billing.domain.environment import Environment
from billing.services.billing.preview_update import Intent, UpdatePreview


class PreviewUpdateRequest(UpdateRequest):
    """The same fields as billing.update: the preview is of that very update."""


class PreviewUpdateResponse(WireResponse):
    customer_id: str
    intent: Intent
    line_items: list[LineItemResponse]
    subtotal: Decimal
    total: Decimal
    currency: str
    incoming: list[PlanChangeResponse]
    outgoing: list[PlanChangeResponse]
    next_cycle: NextCycleResponse | None = omitted_when_none()
    invoice_credits: InvoiceCreditsResponse | None = omitted_when_none()


def preview_update_response(preview: UpdatePreview, env: Environment) -> PreviewUpdateResponse:
    cycle = preview.next_cycle
    return PreviewUpdateResponse(
        customer_id=preview.customer_id,
        intent=preview.intent,
        line_items=[line_response(line) for line in preview.lines],
        subtotal=preview.total,
        total=preview.total - (preview.credit.applied if preview.credit else 0),
        currency=preview.currency,
        incoming=[move_response(move, env) for move in preview.incoming],
        outgoing=[move_response(move, env) for move in preview.outgoing],
        next_cycle=None if cycle is None else cycle_response(cycle),
        invoice_credits=credits_response(preview.credit, preview.currency),
    )
