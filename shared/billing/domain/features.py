"""Features: what plans grant. The rules about their shape live here, free of I/O."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from billing.domain.errors import InvalidRequest

FeatureType = Literal["boolean", "metered", "credit_system"]


class CreditCost(BaseModel):
    model_config = ConfigDict(frozen=True)

    metered_feature_id: str
    credit_cost: Decimal


class FeatureDisplay(BaseModel):
    model_config = ConfigDict(frozen=True)

    singular: str | None = None
    plural: str | None = None


class Feature(BaseModel):
    model_config = ConfigDict(frozen=True)

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


class FeatureSpec(BaseModel):
    """What a caller asks a feature to be, before the rules decide what it is."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    type: FeatureType
    consumable: bool | None = None
    archived: bool = False
    event_names: tuple[str, ...] = ()
    credit_schema: tuple[CreditCost, ...] = ()
    display: FeatureDisplay | None = None


def shaped(spec: FeatureSpec, others: Mapping[str, Feature]) -> Feature:
    """The feature `spec` describes, once valid against the other features of the catalog.

    Raises InvalidRequest naming the field at fault.
    """
    consumable = {
        "boolean": False,
        "credit_system": True,
        "metered": True if spec.consumable is None else spec.consumable,
    }[spec.type]
    if spec.type == "boolean" and spec.consumable:
        raise _invalid("consumable", "a boolean feature is on or off; it is never consumed")
    if spec.type == "credit_system" and spec.consumable is False:
        raise _invalid("consumable", "a credit system's credits are always consumed")
    if spec.type == "credit_system":
        _check_credit_schema(spec, others)
    elif spec.credit_schema:
        raise _invalid("credit_schema", "only a credit_system feature has a credit schema")
    if len(set(spec.event_names)) != len(spec.event_names):
        raise _invalid("event_names", "an event name appears twice")
    if spec.type == "boolean" and spec.event_names:
        raise _invalid("event_names", "a boolean feature is not tracked by events")
    return Feature(
        id=spec.id,
        name=spec.name,
        type=spec.type,
        consumable=consumable,
        archived=spec.archived,
        event_names=spec.event_names,
        credit_schema=spec.credit_schema,
        display=spec.display,
    )


def _check_credit_schema(spec: FeatureSpec, others: Mapping[str, Feature]) -> None:
    if not spec.credit_schema:
        raise _invalid("credit_schema", "a credit system needs at least one metered feature")
    seen: set[str] = set()
    for index, entry in enumerate(spec.credit_schema):
        field = f"credit_schema.{index}"
        metered = others.get(entry.metered_feature_id)
        if entry.metered_feature_id in seen:
            raise _invalid(f"{field}.metered_feature_id", "listed twice")
        if metered is None or metered.id == spec.id:
            raise _invalid(f"{field}.metered_feature_id", "no such feature")
        if not metered.metered:
            raise _invalid(f"{field}.metered_feature_id", "must name a metered feature")
        if not entry.credit_cost > 0:
            raise _invalid(f"{field}.credit_cost", "must be greater than 0")
        seen.add(entry.metered_feature_id)


def credit_systems_using(feature_id: str, features: Mapping[str, Feature]) -> list[str]:
    return sorted(
        f.id
        for f in features.values()
        if any(entry.metered_feature_id == feature_id for entry in f.credit_schema)
    )


def _invalid(field: str, message: str) -> InvalidRequest:
    return InvalidRequest(
        f"The feature is not valid: {field} {message}.",
        details=[{"field": field, "message": message}],
    )
