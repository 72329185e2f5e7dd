"""Options of Autumn's billing requests that are not built here, declared with the shapes
Autumn's SDK and published document give them, so the API reference shows what a caller of
Autumn sends; and their refusal.

A field marked `NotBuilt(why)` is refused whatever its value, but null: a 400 naming it, read
before the rest of the body (so a well-formed value is refused by name, never half-read or
dropped). The shapes are documentation: nothing sent in them is ever taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from billing.api.wire.common import Count, EpochMs, Id, Number, WireRequest
from billing.api.wire.plans import BasePriceFields, ItemFields
from billing.domain.errors import InvalidRequest
from billing.domain.terms import BillingMethod

# Why discounts are refused (attach, its preview, setup_payment, update).
NO_REWARDS = "rewards (coupons, promotion codes) do not exist here"

# Autumn's price intervals (a week too: prices by the week are not built here either).
LineInterval = Literal["one_off", "week", "month", "quarter", "semi_annual", "year"]
PaymentMethodType = Literal[
    "card",
    "customer_balance",
    "us_bank_account",
    "sepa_debit",
    "bacs_debit",
    "acss_debit",
    "link",
]


@dataclass(frozen=True)
class NotBuilt:
    """Marks a request field not built here: `Annotated[<Autumn's type> | None,
    NotBuilt(why)] = None`. `why` ends the refusal's message and the field's description."""

    why: str

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        found = handler(schema)
        found["description"] = (
            f"Autumn's option, refused here ({self.why}): "
            "any value but null is a 400 naming this field."
        )
        return found


def refuse_not_built(model: type[BaseModel], data: Any, route: str, prefix: str = "") -> None:
    """A 400 naming every field of `model` marked NotBuilt that `data` (the raw body, or the
    raw object at `prefix`) gives a value other than null."""
    if not isinstance(data, dict):
        return  # not an object: the model's own validation says so
    given = [
        (name, mark)
        for name, field in model.model_fields.items()
        for mark in field.metadata
        if isinstance(mark, NotBuilt) and data.get(name) is not None
    ]
    if not given:
        return
    (first, mark), *more = given
    also = f" (and {', '.join(prefix + name for name, _ in more)})" if more else ""
    raise InvalidRequest(
        f"'{prefix}{first}' is not available in {route} yet: {mark.why}.{also}",
        details=[{"field": prefix + name, "message": "not supported yet"} for name, _ in given],
    )


class DiscountFields(WireRequest):
    reward_id: Id | None = None
    promotion_code: Id | None = None


class RemoveDiscountFields(WireRequest):
    reward_id: Id


class CustomLineItemFields(WireRequest):
    amount: Number
    description: str


class AddLineFields(WireRequest):
    amount: Number
    description: str
    period_start: EpochMs | None = None
    period_end: EpochMs | None = None


class LinePriceFields(WireRequest):
    interval: LineInterval | None = None
    interval_count: Count | None = None


class LineFeatureQuantityFields(WireRequest):
    feature_id: Id
    billing_behavior: BillingMethod
    interval: LineInterval | None = None
    interval_count: Count | None = None


class LineLicenseQuantityFields(WireRequest):
    license_plan_id: Id
    price: LinePriceFields | bool | None = None
    feature_quantities: list[LineFeatureQuantityFields] | None = None


class RemoveLineFields(WireRequest):
    plan_id: Id
    entity_id: Id | None = None
    direction: Literal["charge", "refund"] | None = None
    price: LinePriceFields | bool | None = None
    feature_quantities: list[LineFeatureQuantityFields] | None = None
    license_quantities: list[LineLicenseQuantityFields] | None = None


class CarryOverFields(WireRequest):
    enabled: bool
    feature_ids: list[Id] | None = None


class LicenseQuantityFields(WireRequest):
    license_plan_id: Id
    quantity: int


class AutomaticTaxFields(WireRequest):
    enabled: bool


class TaxFields(WireRequest):
    automatic_tax: AutomaticTaxFields | None = None
    rate_id: Id | None = None


class AddressFields(WireRequest):
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None


class TaxIdFields(WireRequest):
    type: str
    value: str


class BillingDetailsFields(WireRequest):
    address: AddressFields | None = None
    tax_ids: list[TaxIdFields] | None = None
    tax_exempt: Literal["none", "exempt", "reverse"] | None = None


class PlanItemFilterFields(WireRequest):
    """Which of the plan's items a change removes: those matching every field given."""

    feature_id: Id | None = None
    billing_method: BillingMethod | None = None
    interval: LineInterval | None = None
    interval_count: Count | None = None
    included: Number | None = None


class LicenseCustomizeFields(WireRequest):
    price: BasePriceFields | None = None
    add_items: list[ItemFields] | None = None
    remove_items: list[PlanItemFilterFields] | None = None


class UpsertLicenseFields(WireRequest):
    license_plan_id: Id
    version_slug: Id | None = None
    included: int | None = None
    prepaid_only: bool | None = None
    customize: LicenseCustomizeFields | None = None
    metadata: dict[str, Any] | None = None


class RemoveLicenseFields(WireRequest):
    license_plan_id: Id


# An anchor for the billing cycle: now, or a moment (epoch ms).
BillingCycleAnchor = Literal["now"] | EpochMs
# Stripe Checkout's own parameters, passed through by Autumn.
CheckoutSessionParams = dict[str, Any]
