"""Features: what plans grant, as check and track read them. What a caller may ask a feature
to be, and the rules that decide it, are in `feature_changes`.

NamedTuples, as what customers hold (see `billing.domain.holdings`): check and track read the
catalog's features on every cold start."""

from collections.abc import Mapping
from decimal import Decimal
from typing import Literal, NamedTuple

FeatureType = Literal["boolean", "metered", "credit_system"]


class CreditCost(NamedTuple):
    metered_feature_id: str
    credit_cost: Decimal


class FeatureDisplay(NamedTuple):
    singular: str | None = None
    plural: str | None = None


class Feature(NamedTuple):
    id: str
    name: str
    type: FeatureType
    # Metered only: True for a balance used up and reset (messages), False for a count
    # held (seats). Credit systems are always consumable; booleans never are.
    consumable: bool
    archived: bool = False
    event_names: tuple[str, ...] = ()
    credit_schema: tuple[CreditCost, ...] = ()
    display: FeatureDisplay | None = None
    created_at: int = 0
    revision: int = 1

    @property
    def metered(self) -> bool:
        return self.type == "metered"


def credit_systems_using(feature_id: str, features: Mapping[str, Feature]) -> list[str]:
    return sorted(
        f.id
        for f in features.values()
        if any(entry.metered_feature_id == feature_id for entry in f.credit_schema)
    )
