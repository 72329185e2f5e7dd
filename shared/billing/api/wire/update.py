"""billing.update: the request as the SDKs send it (`UpdateSubscriptionParams`), and the
answer their BillingUpdateResponse parses (the same fields as attach's)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from billing.api.wire.attach import (
    CustomizeFields,
    FeatureQuantityFields,
    InvoiceModeFields,
    attach_response,
)
from billing.api.wire.common import Count, Id, WireRequest
from billing.api.wire.not_built import (
    NO_REWARDS,
    AddLineFields,
    BillingCycleAnchor,
    CheckoutSessionParams,
    CustomLineItemFields,
    DiscountFields,
    LicenseQuantityFields,
    NotBuilt,
    RemoveDiscountFields,
    RemoveLineFields,
    refuse_not_built,
)
from billing.api.wire.plans import FreeTrialFields
from billing.domain.errors import InvalidRequest
from billing.services.billing.updating import UpdatePlan

# Options of Autumn's update that change invoices, prices or cycles in ways not built yet:
# refused rather than ignored, so a caller never believes they applied.
_NOT_BUILT = "not built"


class UpdateRequest(WireRequest):
    customer_id: Id
    plan_id: Id | None = None
    subscription_id: Id | None = None
    version: Count | None = None
    feature_quantities: Annotated[list[FeatureQuantityFields], Field(max_length=100)] | None = None
    free_trial: FreeTrialFields | None = None
    redirect_mode: Literal["always", "if_required", "never"] = "if_required"
    proration_behavior: Literal["prorate_immediately", "none", "bill_difference"] | None = None
    cancel_action: Literal["cancel_immediately", "cancel_end_of_cycle", "uncancel"] | None = None
    entity_id: Annotated[Id | None, NotBuilt("entities are not built here")] = None
    customize: Annotated[CustomizeFields | None, NotBuilt(_NOT_BUILT)] = None
    invoice_mode: Annotated[InvoiceModeFields | None, NotBuilt(_NOT_BUILT)] = None
    discounts: Annotated[list[DiscountFields] | None, NotBuilt(NO_REWARDS)] = None
    remove_discounts: Annotated[list[RemoveDiscountFields] | None, NotBuilt(NO_REWARDS)] = None
    custom_line_items: Annotated[list[CustomLineItemFields] | None, NotBuilt(_NOT_BUILT)] = None
    remove_lines: Annotated[list[RemoveLineFields] | None, NotBuilt(_NOT_BUILT)] = None
    add_lines: Annotated[list[AddLineFields] | None, NotBuilt(_NOT_BUILT)] = None
    billing_cycle_anchor: Annotated[BillingCycleAnchor | None, NotBuilt(_NOT_BUILT)] = None
    no_billing_changes: Annotated[bool | None, NotBuilt(_NOT_BUILT)] = None
    refund_last_payment: Annotated[Literal["prorated", "full"] | None, NotBuilt(_NOT_BUILT)] = None
    subscription_params: Annotated[CheckoutSessionParams | None, NotBuilt(_NOT_BUILT)] = None
    license_quantities: Annotated[list[LicenseQuantityFields] | None, NotBuilt(_NOT_BUILT)] = None

    @model_validator(mode="before")
    @classmethod
    def _built(cls, data: Any) -> Any:
        refuse_not_built(cls, data, "billing.update")
        return data

    @model_validator(mode="after")
    def _supported(self) -> UpdateRequest:
        quantities = self.feature_quantities or []
        ids = [q.feature_id for q in quantities]
        if len(ids) != len(set(ids)):
            raise InvalidRequest(
                "Each feature's quantity is given once.",
                details=[{"field": "feature_quantities", "message": "a feature appears twice"}],
            )
        if self.cancel_action is not None and quantities:
            raise InvalidRequest(
                "Cancel, or change quantities: not both in one update.",
                details=[{"field": "cancel_action", "message": "sent with feature_quantities"}],
            )
        return self

    def command(self) -> UpdatePlan:
        quantities: dict[str, Decimal] = {
            q.feature_id: q.quantity
            for q in self.feature_quantities or []
            if q.quantity is not None
        }
        return UpdatePlan(
            customer_id=self.customer_id,
            plan_id=self.plan_id,
            subscription_id=self.subscription_id,
            cancel_action=self.cancel_action,
            feature_quantities=quantities,
            proration_behavior=self.proration_behavior or "prorate_immediately",
            version=self.version,
            redirect_mode=self.redirect_mode,
            free_trial=None if self.free_trial is None else self.free_trial.domain(),
            no_trial="free_trial" in self.model_fields_set and self.free_trial is None,
        )


update_response = attach_response
