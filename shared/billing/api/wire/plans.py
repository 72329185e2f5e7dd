"""plans.* requests and the Plan response."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field

from billing.api.wire.common import (
    SDK_DEFAULT_ONLY,
    Count,
    Id,
    Metadata,
    Number,
    WireRequest,
    WireResponse,
    omitted_when_none,
)
from billing.domain.customers import Environment
from billing.domain.keep import KEEP
from billing.domain.plans import BasePrice, FreeTrial, Plan, PlanChanges, PlanItem
from billing.domain.terms import (
    BillingMethod,
    ItemPrice,
    PriceInterval,
    Reset,
    ResetInterval,
    Tier,
    TierBehavior,
    TrialUnit,
)

Amount = Annotated[Number, Field(ge=0, le=Decimal("1e9"))]
Units = Annotated[Number, Field(ge=0, le=Decimal("1e15"))]


class BasePriceFields(WireRequest):
    amount: Amount
    interval: PriceInterval
    interval_count: Count = 1

    def domain(self) -> BasePrice:
        return BasePrice(**self.model_dump())


class TierFields(WireRequest):
    to: Literal["inf"] | Annotated[Number, Field(gt=0)]
    amount: Amount = Decimal(0)
    # Its sign is the plan rules' to refuse, in Autumn's words (domain.plans).
    flat_amount: Annotated[Number, Field(le=Decimal("1e9"))] | None = None


class ItemPriceFields(WireRequest):
    amount: Amount | None = None
    tiers: list[TierFields] | None = Field(default=None, min_length=1, max_length=50)
    tier_behavior: TierBehavior | None = None
    interval: PriceInterval | None = None
    interval_count: Count = 1
    billing_units: Annotated[Number, Field(gt=0, le=Decimal("1e12"))] = Decimal(1)
    billing_method: BillingMethod = "prepaid"
    max_purchase: Annotated[Number, Field(gt=0)] | None = None

    def domain(self) -> ItemPrice:
        values = self.model_dump(exclude={"tiers"})
        tiers = None if self.tiers is None else tuple(Tier(**t.model_dump()) for t in self.tiers)
        return ItemPrice(**values, tiers=tiers)


class ResetFields(WireRequest):
    interval: ResetInterval
    interval_count: Count = 1


class ItemFields(WireRequest):
    feature_id: Id
    included: Units = Decimal(0)
    unlimited: bool = False
    reset: ResetFields | None = None
    price: ItemPriceFields | None = None
    # Autumn's balance pooled across entities: entities are not built here.
    pooled: Annotated[Literal[False], SDK_DEFAULT_ONLY] = False

    def domain(self) -> PlanItem:
        return PlanItem(
            feature_id=self.feature_id,
            included=self.included,
            unlimited=self.unlimited,
            reset=None if self.reset is None else Reset(**self.reset.model_dump()),
            price=None if self.price is None else self.price.domain(),
        )


class FreeTrialFields(WireRequest):
    duration_length: Count
    duration_type: TrialUnit = "month"
    card_required: bool = False
    # What happens at the trial's end: billed (Stripe converts the subscription); Autumn's
    # other choice, cancel, is not built here.
    on_end: Annotated[Literal["bill"], SDK_DEFAULT_ONLY] = "bill"

    def domain(self) -> FreeTrial:
        return FreeTrial(**self.model_dump(exclude={"on_end"}))


class PlanConfigFields(WireRequest):
    ignore_past_due: bool | None = None
    # Billing periods anchored to the 1st of the month: not built (periods start at purchase).
    anchor_to_month_start: Annotated[Literal[False], SDK_DEFAULT_ONLY] = False


PlanName = Annotated[str, Field(min_length=1, max_length=256)]
Group = Annotated[str, Field(max_length=256)]


class PlanFields(WireRequest):
    """What a caller may say about a plan, on creation as on update."""

    name: PlanName | None = None
    description: Annotated[str, Field(max_length=2048)] | None = None
    group: Group | None = None
    add_on: bool | None = None
    auto_enable: bool | None = None
    price: BasePriceFields | None = None
    items: list[ItemFields] | None = Field(default=None, max_length=100)
    free_trial: FreeTrialFields | None = None
    config: PlanConfigFields | None = None
    metadata: Metadata = None
    # A priced plan version is always mirrored to Stripe (a product and prices) before it is
    # saved; Autumn's choice not to, false, is not built here.
    create_in_stripe: Annotated[Literal[True], SDK_DEFAULT_ONLY] = True

    def changes(self) -> PlanChanges:
        """What the caller sent: null clears description, group, price and free_trial, and
        leaves the rest as they are."""
        sent = self.model_fields_set

        def given(name: str) -> Any:
            value = getattr(self, name)
            return value if name in sent and value is not None else KEEP

        ignore_past_due = None if self.config is None else self.config.ignore_past_due
        return PlanChanges(
            name=given("name"),
            description=self.description if "description" in sent else KEEP,
            group=(self.group or None) if "group" in sent else KEEP,  # "": no group, as Autumn
            add_on=given("add_on"),
            auto_enable=given("auto_enable"),
            ignore_past_due=KEEP if ignore_past_due is None else ignore_past_due,
            metadata=(self.metadata or {}) if "metadata" in sent else KEEP,
            price=(None if self.price is None else self.price.domain())
            if "price" in sent
            else KEEP,
            items=tuple(item.domain() for item in self.items or ()) if "items" in sent else KEEP,
            free_trial=(None if self.free_trial is None else self.free_trial.domain())
            if "free_trial" in sent
            else KEEP,
        )


class CreatePlanRequest(PlanFields):
    plan_id: Id
    name: PlanName

    def plan(self) -> Plan:
        """The plan asked for, before the catalog's rules validate it."""
        return self.changes().applied_to(Plan(id=self.plan_id, name=self.name))


class GetPlanRequest(WireRequest):
    plan_id: Id
    version: Count | None = None


class ListPlansRequest(WireRequest):
    include_archived: bool = False
    all_versions: bool = False


class UpdatePlanRequest(PlanFields):
    plan_id: Id
    archived: bool | None = None
    # A new version even when nobody holds this one or nothing of its terms changed.
    force_version: bool = False

    def changes(self) -> PlanChanges:
        changes = super().changes()
        return changes if self.archived is None else replace(changes, archived=self.archived)


class DeletePlanRequest(WireRequest):
    plan_id: Id
    all_versions: bool = False


class PriceResponse(WireResponse):
    amount: Decimal
    interval: str
    interval_count: int


class ResetResponse(WireResponse):
    interval: str
    interval_count: int


# Optional fields Autumn's schema does not allow as null are left out when they have no value.


class TierResponse(WireResponse):
    to: Decimal | str
    amount: Decimal
    flat_amount: Decimal | None = omitted_when_none()


class ItemPriceResponse(WireResponse):
    amount: Decimal | None = omitted_when_none()
    tiers: list[TierResponse] | None = omitted_when_none()
    tier_behavior: str | None = omitted_when_none()
    interval: str
    interval_count: int
    billing_units: Decimal
    billing_method: str
    max_purchase: Decimal | None


class ItemResponse(WireResponse):
    feature_id: str
    included: Decimal
    unlimited: bool
    reset: ResetResponse | None
    price: ItemPriceResponse | None


class FreeTrialResponse(WireResponse):
    duration_length: int
    duration_type: str
    card_required: bool


class StripeProductResponse(WireResponse):
    product_id: str


class ProcessorsResponse(WireResponse):
    stripe: StripeProductResponse | None


class PlanResponse(WireResponse):
    id: str
    name: str
    description: str | None
    group: str | None
    version: int
    add_on: bool
    auto_enable: bool
    price: PriceResponse | None
    items: list[ItemResponse]
    free_trial: FreeTrialResponse | None = omitted_when_none()
    created_at: int
    env: Environment
    archived: bool
    config: dict[str, bool]
    metadata: dict[str, Any]
    base_variant_id: None = None
    processors: ProcessorsResponse


class PlanListResponse(WireResponse):
    list: list[PlanResponse]


def plan_response(plan: Plan, env: Environment) -> PlanResponse:
    terms = plan.terms
    interval = plan.interval or "month"
    return PlanResponse(
        id=plan.id,
        name=plan.name,
        description=plan.description,
        group=plan.group,
        version=plan.shown_version,
        add_on=plan.add_on,
        auto_enable=plan.auto_enable,
        price=None if terms.price is None else PriceResponse(**terms.price.model_dump()),
        items=[_item_response(item, interval) for item in terms.items],
        free_trial=None
        if terms.free_trial is None
        else FreeTrialResponse(**terms.free_trial.model_dump()),
        created_at=plan.created_at,
        env=env,
        archived=plan.archived,
        config={"ignore_past_due": plan.ignore_past_due, "anchor_to_month_start": False},
        metadata=plan.metadata,
        processors=ProcessorsResponse(
            stripe=StripeProductResponse(product_id=plan.stripe.product_id) if plan.stripe else None
        ),
    )


def _item_response(item: PlanItem, plan_interval: str) -> ItemResponse:
    price = item.price
    return ItemResponse(
        feature_id=item.feature_id,
        included=item.included,
        unlimited=item.unlimited,
        reset=None if item.reset is None else ResetResponse(**item.reset._asdict()),
        price=None
        if price is None
        else ItemPriceResponse(
            amount=price.amount,
            tiers=None
            if price.tiers is None
            else [TierResponse(**tier._asdict()) for tier in price.tiers],
            tier_behavior=price.tier_behavior,
            interval=price.interval or plan_interval,
            interval_count=price.interval_count,
            billing_units=price.billing_units,
            billing_method=price.billing_method,
            max_purchase=price.max_purchase,
        ),
    )
