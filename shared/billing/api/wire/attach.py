"""billing.attach: the request as the SDKs send it, and the answer their AttachResponse
parses (`customer_id`, `payment_url`, and `invoice` / `required_action` when there are)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, model_validator

from billing.api.wire.common import (
    Count,
    Id,
    NonNegativeQuantity,
    Url,
    WireRequest,
    WireResponse,
    omitted_when_none,
)
from billing.api.wire.plans import FreeTrialFields
from billing.domain.errors import InvalidRequest
from billing.services.attach import AttachPlan, AttachResult

MetadataValue = Annotated[str, Field(max_length=500)]


class FeatureQuantityFields(WireRequest):
    feature_id: Id
    quantity: NonNegativeQuantity | None = None


class AttachRequest(WireRequest):
    customer_id: Id
    plan_id: Id
    entity_id: Id | None = None
    version: Count | None = None
    feature_quantities: Annotated[list[FeatureQuantityFields], Field(max_length=100)] | None = None
    free_trial: FreeTrialFields | None = None
    success_url: Url | None = None
    redirect_mode: Literal["always", "if_required", "never"] = "if_required"
    proration_behavior: Literal["prorate_immediately", "none", "bill_difference"] | None = None
    plan_schedule: Literal["immediate", "end_of_cycle"] | None = None
    metadata: Annotated[dict[Id, MetadataValue], Field(max_length=40)] | None = None

    @model_validator(mode="after")
    def _supported(self) -> AttachRequest:
        if self.entity_id is not None:
            raise InvalidRequest(
                "Entities are not available yet.",
                details=[{"field": "entity_id", "message": "not supported yet"}],
            )
        ids = [q.feature_id for q in self.feature_quantities or []]
        if len(ids) != len(set(ids)):
            raise InvalidRequest(
                "Each feature's quantity is given once.",
                details=[{"field": "feature_quantities", "message": "a feature appears twice"}],
            )
        if self.metadata and any(key.startswith("billing_") for key in self.metadata):
            raise InvalidRequest(
                "Metadata keys starting with 'billing_' are reserved.",
                details=[{"field": "metadata", "message": "a key starts with 'billing_'"}],
            )
        return self

    def command(self) -> AttachPlan:
        quantities: dict[str, Decimal] = {
            q.feature_id: q.quantity
            for q in self.feature_quantities or []
            if q.quantity is not None
        }
        return AttachPlan(
            customer_id=self.customer_id,
            plan_id=self.plan_id,
            version=self.version,
            redirect_mode=self.redirect_mode,
            plan_schedule=self.plan_schedule,
            proration_behavior=self.proration_behavior or "prorate_immediately",
            free_trial=None if self.free_trial is None else self.free_trial.domain(),
            # `free_trial: null` sent on purpose drops the plan's own trial.
            no_trial="free_trial" in self.model_fields_set and self.free_trial is None,
            feature_quantities=quantities,
            success_url=self.success_url,
            metadata=self.metadata or {},
        )


class AttachInvoiceResponse(WireResponse):
    status: str | None
    stripe_id: str
    # In major units, like every amount on our wire.
    total: Decimal
    currency: str
    hosted_invoice_url: str | None


class RequiredActionResponse(WireResponse):
    code: str
    reason: str


class AttachResponse(WireResponse):
    customer_id: str
    payment_url: str | None
    invoice: AttachInvoiceResponse | None = omitted_when_none()
    required_action: RequiredActionResponse | None = omitted_when_none()


def attach_response(result: AttachResult) -> AttachResponse:
    invoice = result.invoice
    action = result.required_action
    return AttachResponse(
        customer_id=result.customer_id,
        payment_url=result.payment_url,
        invoice=None
        if invoice is None
        else AttachInvoiceResponse(
            status=invoice.status,
            stripe_id=invoice.id,
            total=invoice.total,
            currency=invoice.currency,
            hosted_invoice_url=invoice.hosted_invoice_url,
        ),
        required_action=None
        if action is None
        else RequiredActionResponse(code=action.code, reason=action.reason),
    )
