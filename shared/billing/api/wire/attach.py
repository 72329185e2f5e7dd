"""billing.attach: the request as the SDKs send it, and the answer their AttachResponse
parses (`customer_id`, `payment_url`, and `invoice` / `required_action` when there are)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from billing.api.wire.common import (
    Count,
    EpochMs,
    Id,
    NonNegativeQuantity,
    Url,
    WireRequest,
    WireResponse,
    omitted_when_none,
)
from billing.api.wire.customers import BillingControlsFields
from billing.api.wire.not_built import (
    NO_REWARDS,
    AddLineFields,
    BillingCycleAnchor,
    BillingDetailsFields,
    CarryOverFields,
    CheckoutSessionParams,
    CustomLineItemFields,
    DiscountFields,
    LicenseQuantityFields,
    NotBuilt,
    PaymentMethodType,
    PlanItemFilterFields,
    RemoveDiscountFields,
    RemoveLicenseFields,
    RemoveLineFields,
    TaxFields,
    UpsertLicenseFields,
    refuse_not_built,
)
from billing.api.wire.plans import BasePriceFields, FreeTrialFields, ItemFields
from billing.domain.custom_plans import Customization
from billing.domain.errors import InvalidRequest
from billing.services.billing.attaching import AttachResult
from billing.services.billing.situation import AttachPlan, InvoiceMode

MetadataValue = Annotated[str, Field(max_length=500)]


class FeatureQuantityFields(WireRequest):
    feature_id: Id
    quantity: NonNegativeQuantity | None = None


_WHOLE_LIST = "give the whole list as customize.items"
_NO_LICENSES = "licenses do not exist here"
_NO_CONTROLS = "billing controls are not built here"
_INVOICE_DEFAULTS = "invoice settings are Stripe's defaults"


def _refused(field: str, why: str) -> InvalidRequest:
    return InvalidRequest(
        f"'{field}' is not available in billing.attach yet: {why}.",
        details=[{"field": field, "message": "not supported yet"}],
    )


class CustomizeFields(WireRequest):
    """A price and items of the plan for this customer's purchase alone. `price: null`
    drops the base price; `items` replaces the plan's items; `free_trial` replaces the
    plan's trial (null: none). The other options Autumn's model names are refused."""

    price: BasePriceFields | None = None
    items: Annotated[list[ItemFields], Field(max_length=100)] | None = None
    free_trial: FreeTrialFields | None = None
    add_items: Annotated[list[ItemFields] | None, NotBuilt(_WHOLE_LIST)] = None
    remove_items: Annotated[list[PlanItemFilterFields] | None, NotBuilt(_WHOLE_LIST)] = None
    billing_controls: Annotated[BillingControlsFields | None, NotBuilt(_NO_CONTROLS)] = None
    upsert_licenses: Annotated[list[UpsertLicenseFields] | None, NotBuilt(_NO_LICENSES)] = None
    remove_licenses: Annotated[list[RemoveLicenseFields] | None, NotBuilt(_NO_LICENSES)] = None

    def customization(self) -> Customization | None:
        """The plan's terms this purchase changes (none when only the trial is changed)."""
        if "price" not in self.model_fields_set and self.items is None:
            return None
        return Customization(
            replaces_price="price" in self.model_fields_set,
            price=self.price.domain() if self.price is not None else None,
            items=None if self.items is None else tuple(i.domain() for i in self.items),
        )

    @model_validator(mode="before")
    @classmethod
    def _supported(cls, data: Any) -> Any:
        refuse_not_built(cls, data, "billing.attach", prefix="customize.")
        return data


# Stripe's default payment terms for a sent invoice when the caller names none.
DEFAULT_NET_TERMS_DAYS = 30


class InvoiceModeFields(WireRequest):
    """Stripe emails an invoice to be paid within `net_terms_days` instead of charging a
    card; the plan is granted once it is paid, or at once with `enable_plan_immediately`."""

    enabled: bool
    enable_plan_immediately: bool = False
    net_terms_days: Annotated[int, Field(ge=0, le=365)] | None = None
    # Accepted only to be refused when they ask for anything but an invoice sent at once.
    finalize: bool | None = None
    issue_method: Literal["draft", "finalize", "send"] | None = None
    invoice_template_id: Annotated[Id | None, NotBuilt(_INVOICE_DEFAULTS)] = None
    payment_method_types: Annotated[list[PaymentMethodType] | None, NotBuilt(_INVOICE_DEFAULTS)] = (
        None
    )

    def domain(self, now: bool = False) -> InvoiceMode | None:
        """None when not enabled: the card is charged as usual. `now`: the request's own
        enable_plan_immediately."""
        if not self.enabled:
            return None
        days = DEFAULT_NET_TERMS_DAYS if self.net_terms_days is None else self.net_terms_days
        return InvoiceMode(days_until_due=days, enable_now=self.enable_plan_immediately or now)

    @model_validator(mode="before")
    @classmethod
    def _built(cls, data: Any) -> Any:
        refuse_not_built(cls, data, "billing.attach", prefix="invoice_mode.")
        return data

    @model_validator(mode="after")
    def _supported(self) -> InvoiceModeFields:
        if self.finalize is False:
            raise _refused("invoice_mode.finalize", "draft invoices are not kept")
        if self.issue_method not in (None, "send"):
            raise _refused("invoice_mode.issue_method", "the invoice is always sent")
        return self


_NOT_BUILT = "not built"


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
    customize: CustomizeFields | None = None
    invoice_mode: InvoiceModeFields | None = None
    # Autumn's shorthand for invoice_mode.enable_plan_immediately (it also lets a Checkout
    # grant before payment, which is refused here).
    enable_plan_immediately: bool | None = None
    # Refused, never dropped: a discount silently dropped would charge the full price.
    discounts: Annotated[list[DiscountFields] | None, NotBuilt(NO_REWARDS)] = None
    remove_discounts: Annotated[list[RemoveDiscountFields] | None, NotBuilt(NO_REWARDS)] = None
    subscription_id: Annotated[Id | None, NotBuilt(_NOT_BUILT)] = None
    new_billing_subscription: Annotated[bool | None, NotBuilt(_NOT_BUILT)] = None
    billing_cycle_anchor: Annotated[BillingCycleAnchor | None, NotBuilt(_NOT_BUILT)] = None
    starts_at: Annotated[EpochMs | None, NotBuilt(_NOT_BUILT)] = None
    ends_at: Annotated[EpochMs | None, NotBuilt(_NOT_BUILT)] = None
    checkout_session_params: Annotated[CheckoutSessionParams | None, NotBuilt(_NOT_BUILT)] = None
    long_lived_checkout: Annotated[bool | None, NotBuilt(_NOT_BUILT)] = None
    custom_line_items: Annotated[list[CustomLineItemFields] | None, NotBuilt(_NOT_BUILT)] = None
    remove_lines: Annotated[list[RemoveLineFields] | None, NotBuilt(_NOT_BUILT)] = None
    add_lines: Annotated[list[AddLineFields] | None, NotBuilt(_NOT_BUILT)] = None
    processor_subscription_id: Annotated[Id | None, NotBuilt(_NOT_BUILT)] = None
    carry_over_balances: Annotated[CarryOverFields | None, NotBuilt(_NOT_BUILT)] = None
    carry_over_usages: Annotated[CarryOverFields | None, NotBuilt(_NOT_BUILT)] = None
    license_quantities: Annotated[list[LicenseQuantityFields] | None, NotBuilt(_NOT_BUILT)] = None
    no_billing_changes: Annotated[bool | None, NotBuilt(_NOT_BUILT)] = None
    tax: Annotated[TaxFields | None, NotBuilt(_NOT_BUILT)] = None
    billing_details: Annotated[BillingDetailsFields | None, NotBuilt(_NOT_BUILT)] = None
    tax_rate_id: Annotated[Id | None, NotBuilt(_NOT_BUILT)] = None
    currency: Annotated[Id | None, NotBuilt(_NOT_BUILT)] = None
    remove_plan_ids: Annotated[list[Id] | None, NotBuilt(_NOT_BUILT)] = None

    @model_validator(mode="before")
    @classmethod
    def _built(cls, data: Any) -> Any:
        refuse_not_built(cls, data, "billing.attach")
        return data

    @model_validator(mode="after")
    def _supported(self) -> AttachRequest:
        invoiced = self.invoice_mode is not None and self.invoice_mode.enabled
        if self.enable_plan_immediately and not invoiced:
            raise _refused(
                "enable_plan_immediately", "a plan is granted before payment only in invoice_mode"
            )
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

    def command(self, request_key: str | None = None) -> AttachPlan:
        """`request_key`: the request's Idempotency-Key, which names another one of an
        add-on held for the request's retries."""
        quantities: dict[str, Decimal] = {
            q.feature_id: q.quantity
            for q in self.feature_quantities or []
            if q.quantity is not None
        }
        free_trial, trial_sent = self.free_trial, "free_trial" in self.model_fields_set
        custom = self.customize
        if custom is not None and "free_trial" in custom.model_fields_set:
            # Autumn: customize.free_trial wins over the top-level shorthand.
            free_trial, trial_sent = custom.free_trial, True
        return AttachPlan(
            customer_id=self.customer_id,
            plan_id=self.plan_id,
            version=self.version,
            redirect_mode=self.redirect_mode,
            plan_schedule=self.plan_schedule,
            proration_behavior=self.proration_behavior or "prorate_immediately",
            free_trial=None if free_trial is None else free_trial.domain(),
            # `free_trial: null` sent on purpose drops the plan's own trial.
            no_trial=trial_sent and free_trial is None,
            feature_quantities=quantities,
            customize=None if custom is None else custom.customization(),
            invoice_mode=None
            if self.invoice_mode is None
            else self.invoice_mode.domain(now=bool(self.enable_plan_immediately)),
            success_url=self.success_url,
            metadata=self.metadata or {},
            request_key=request_key,
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
