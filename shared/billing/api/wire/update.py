"""billing.update: the request as the SDKs send it (`UpdateSubscriptionParams`), and the
answer their BillingUpdateResponse parses (the same fields as attach's)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from billing.api.wire.attach import FeatureQuantityFields, attach_response
from billing.api.wire.common import Count, Id, WireRequest
from billing.api.wire.plans import FreeTrialFields
from billing.domain.errors import InvalidRequest
from billing.services.billing.updating import UpdatePlan

# Options of Autumn's update that change invoices, prices or cycles in ways not built yet:
# refused rather than ignored, so a caller never believes they applied.
_NOT_YET = (
    "entity_id",
    "customize",
    "invoice_mode",
    "discounts",
    "remove_discounts",
    "custom_line_items",
    "remove_lines",
    "add_lines",
    "billing_cycle_anchor",
    "no_billing_changes",
    "refund_last_payment",
    "subscription_params",
    "license_quantities",
)


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
    # Accepted only to be refused when given (see _NOT_YET).
    entity_id: Any = None
    customize: Any = None
    invoice_mode: Any = None
    discounts: Any = None
    remove_discounts: Any = None
    custom_line_items: Any = None
    remove_lines: Any = None
    add_lines: Any = None
    billing_cycle_anchor: Any = None
    no_billing_changes: Any = None
    refund_last_payment: Any = None
    subscription_params: Any = None
    license_quantities: Any = None

    @model_validator(mode="after")
    def _supported(self) -> UpdateRequest:
        for name in _NOT_YET:
            if getattr(self, name) is not None:
                raise InvalidRequest(
                    f"'{name}' is not available in billing.update yet.",
                    details=[{"field": name, "message": "not supported yet"}],
                )
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
