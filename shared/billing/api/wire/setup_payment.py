"""billing.setup_payment: the request as the SDKs send it (attach's options with an optional
`plan_id`), and the answer their SetupPaymentResponse parses (`customer_id`, `url`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from billing.api.wire.attach import (
    AttachRequest,
    CustomizeFields,
    FeatureQuantityFields,
    MetadataValue,
)
from billing.api.wire.common import Count, Id, Url, WireRequest, WireResponse
from billing.api.wire.not_built import NO_REWARDS, DiscountFields, NotBuilt, refuse_not_built
from billing.api.wire.plans import FreeTrialFields
from billing.domain.errors import InvalidRequest
from billing.services.billing.setup_payment import SetupPayment, SetupSession


class SetupPaymentRequest(WireRequest):
    customer_id: Id
    plan_id: Id | None = None
    entity_id: Id | None = None
    version: Count | None = None
    feature_quantities: Annotated[list[FeatureQuantityFields], Field(max_length=100)] | None = None
    free_trial: FreeTrialFields | None = None
    success_url: Url | None = None
    proration_behavior: Literal["prorate_immediately", "none", "bill_difference"] | None = None
    metadata: Annotated[dict[Id, MetadataValue], Field(max_length=40)] | None = None
    customize: CustomizeFields | None = None
    # Refused, never dropped: a discount silently dropped would charge the full price.
    discounts: Annotated[list[DiscountFields] | None, NotBuilt(NO_REWARDS)] = None

    @model_validator(mode="before")
    @classmethod
    def _built(cls, data: Any) -> Any:
        refuse_not_built(cls, data, "billing.setup_payment")
        return data

    @model_validator(mode="after")
    def _supported(self) -> SetupPaymentRequest:
        if self.entity_id is not None:
            raise InvalidRequest(
                "Entities are not available yet.",
                details=[{"field": "entity_id", "message": "not supported yet"}],
            )
        if self.plan_id is None and self._plan_options():
            raise InvalidRequest(
                "Plan options need the plan they are for.",
                details=[
                    {"field": name, "message": "needs a plan_id"} for name in self._plan_options()
                ],
            )
        return self

    def _plan_options(self) -> list[str]:
        options = (
            "version",
            "feature_quantities",
            "free_trial",
            "proration_behavior",
            "customize",
        )
        return [name for name in options if name in self.model_fields_set]

    def command(self) -> SetupPayment:
        if self.plan_id is None:
            return SetupPayment(self.customer_id, self.success_url)
        # Attach's own request, so that the same checks and decisions apply once the card
        # is saved; the card on file pays then, so no second redirect is ever made.
        as_attach = AttachRequest.model_validate(
            {
                **self.model_dump(exclude_unset=True, exclude={"entity_id"}),
                "redirect_mode": "never",
            },
            strict=False,
        )
        return SetupPayment(self.customer_id, self.success_url, as_attach.command())


class SetupPaymentResponse(WireResponse):
    customer_id: str
    url: str


def setup_payment_response(session: SetupSession) -> SetupPaymentResponse:
    return SetupPaymentResponse(customer_id=session.customer_id, url=session.url)
