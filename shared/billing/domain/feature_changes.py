"""What a caller asks a feature to be (a spec at creation, changes on update), and the rules
that decide whether it may be. Kept apart from `features` so that the hot path (check, track)
never builds these models."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from billing.domain.errors import InvalidRequest
from billing.domain.features import CreditCost, Feature, FeatureDisplay, FeatureType
from billing.domain.keep import KEEP, Keep


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


@dataclass(frozen=True)
class FeatureChanges:
    """What features.update changes. None keeps a field; `display`, which a null clears,
    keeps its value only when left as KEEP."""

    name: str | None = None
    type: FeatureType | None = None
    consumable: bool | None = None
    archived: bool | None = None
    event_names: tuple[str, ...] | None = None
    credit_schema: tuple[CreditCost, ...] | None = None
    display: FeatureDisplay | Keep | None = KEEP

    def applied_to(self, before: Feature) -> FeatureSpec:
        """What `before` is asked to become (the rules in `shaped` then decide)."""
        if self.consumable is not None:
            consumable: bool | None = self.consumable
        else:  # a new type brings its own default
            consumable = None if self.type is not None else before.consumable
        return FeatureSpec(
            id=before.id,
            name=before.name if self.name is None else self.name,
            type=before.type if self.type is None else self.type,
            consumable=consumable,
            archived=before.archived if self.archived is None else self.archived,
            event_names=before.event_names if self.event_names is None else self.event_names,
            credit_schema=before.credit_schema
            if self.credit_schema is None
            else self.credit_schema,
            display=before.display if isinstance(self.display, Keep) else self.display,
        )


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


def _invalid(field: str, message: str) -> InvalidRequest:
    return InvalidRequest(
        f"The feature is not valid: {field} {message}.",
        details=[{"field": field, "message": message}],
    )
