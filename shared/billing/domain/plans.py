"""Plans: what a customer can buy, what it grants and what it costs. Pure rules, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, field_serializer

from billing.domain.keep import KEEP, Keep
from billing.domain.terms import (
    ItemPrice,
    PriceInterval,
    Reset,
    TrialUnit,
    as_fields,
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class BasePrice(_Frozen):
    amount: Decimal
    interval: PriceInterval
    interval_count: int = 1


class PlanItem(_Frozen):
    feature_id: str
    included: Decimal = Decimal(0)
    unlimited: bool = False
    reset: Reset | None = None
    price: ItemPrice | None = None

    @field_serializer("reset", "price")
    def _as_object(self, term: Reset | ItemPrice | None) -> dict[str, Any] | None:
        # Objects by field name, as before terms were NamedTuples (pydantic writes lists).
        return None if term is None else as_fields(term)


class FreeTrial(_Frozen):
    duration_length: int
    duration_type: TrialUnit = "month"
    card_required: bool = False


class StripeMirror(_Frozen):
    """Where a plan version lives in Stripe: its product and one price per priced thing."""

    product_id: str
    base_price_id: str | None = None
    # feature_id -> the price of that item (prepaid quantity or usage-based overage)
    item_price_ids: dict[str, str] = {}

    @property
    def price_ids(self) -> frozenset[str]:
        base = {self.base_price_id} if self.base_price_id else set()
        return frozenset(base | set(self.item_price_ids.values()))


class PlanTerms(_Frozen):
    """What a plan grants and costs: a change here makes a new version once customers hold it."""

    price: BasePrice | None = None
    items: tuple[PlanItem, ...] = ()
    free_trial: FreeTrial | None = None


@dataclass(frozen=True)
class PlanChanges:
    """What plans.create or plans.update says of a plan. A field left as KEEP keeps its
    value (its default, on creation); None clears the fields that may be empty."""

    name: str | Keep = KEEP
    description: str | Keep | None = KEEP
    group: str | Keep | None = KEEP
    add_on: bool | Keep = KEEP
    auto_enable: bool | Keep = KEEP
    archived: bool | Keep = KEEP
    ignore_past_due: bool | Keep = KEEP
    metadata: dict[str, Any] | Keep = KEEP
    # The terms: a change here makes a new version once customers hold the plan.
    price: BasePrice | Keep | None = KEEP
    items: tuple[PlanItem, ...] | Keep = KEEP
    free_trial: FreeTrial | Keep | None = KEEP

    def applied_to(self, plan: Plan) -> Plan:
        sent = {f.name: getattr(self, f.name) for f in fields(self)}
        sent = {name: value for name, value in sent.items() if value is not KEEP}
        terms = {name: sent.pop(name) for name in _TERMS if name in sent}
        return plan.model_copy(update={**sent, "terms": plan.terms.model_copy(update=terms)})


_TERMS = ("price", "items", "free_trial")


class Plan(_Frozen):
    id: str
    name: str
    description: str | None = None
    group: str | None = None
    add_on: bool = False
    auto_enable: bool = False
    terms: PlanTerms = PlanTerms()
    metadata: dict[str, Any] = {}
    archived: bool = False
    # Autumn's plan config: customers past due keep their access.
    ignore_past_due: bool = False
    version: int = 1
    created_at: int = 0
    # Set once a customer holds this version: from then on its terms never change.
    in_use: bool = False
    revision: int = 1
    stripe: StripeMirror | None = None
    # A version made for one customer's purchase (`customize` on attach): never listed,
    # never the latest, found only by the version number its holders and purchases keep.
    # It names the version it was made from, the one shown.
    custom_of: int | None = None

    @property
    def custom(self) -> bool:
        return self.custom_of is not None

    @property
    def shown_version(self) -> int:
        return self.version if self.custom_of is None else self.custom_of

    @property
    def one_off(self) -> bool:
        return self.interval == "one_off"

    @property
    def interval(self) -> PriceInterval | None:
        """The plan's billing interval: its base price's, else its priced items'."""
        if self.terms.price is not None:
            return self.terms.price.interval
        for item in self.terms.items:
            if item.price is not None and item.price.interval is not None:
                return item.price.interval
        return None

    @property
    def free(self) -> bool:
        """Free plans are granted at once; anything priced needs Stripe's word first."""
        paid_base = self.terms.price is not None and self.terms.price.amount > 0
        return not paid_base and not any(i.price is not None for i in self.terms.items)


def needs_new_version(current: Plan, terms: PlanTerms) -> bool:
    """Customers keep what they bought: new terms for a version in use make a new version."""
    return current.in_use and terms != current.terms
