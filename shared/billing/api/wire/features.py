"""features.* requests and the Feature response."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field

from billing.api.wire.common import Id, Quantity, WireRequest, WireResponse, omitted_when_none
from billing.domain.feature_changes import FeatureChanges, FeatureSpec
from billing.domain.features import CreditCost, Feature, FeatureDisplay
from billing.domain.keep import KEEP

FeatureName = Annotated[str, Field(min_length=1, max_length=256)]
EventName = Annotated[str, Field(min_length=1, max_length=256)]


class DisplayFields(WireRequest):
    singular: str | None = Field(default=None, max_length=256)
    plural: str | None = Field(default=None, max_length=256)


class CreditCostFields(WireRequest):
    metered_feature_id: Id
    credit_cost: Quantity


class FeatureFields(WireRequest):
    """What a caller may say about a feature, on creation as on update."""

    name: FeatureName | None = None
    type: Literal["boolean", "metered", "credit_system"] | None = None
    consumable: bool | None = None
    display: DisplayFields | None = None
    credit_schema: list[CreditCostFields] | None = Field(default=None, max_length=100)
    event_names: list[EventName] | None = Field(default=None, max_length=100)

    def domain_values(self, fields: set[str]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in fields:
            value = getattr(self, name)
            if name == "display":
                value = None if value is None else FeatureDisplay(**value.model_dump())
            elif name == "credit_schema":
                value = tuple(CreditCost(**entry.model_dump()) for entry in value or ())
            elif name == "event_names":
                value = tuple(value or ())
            values[name] = value
        return values


class CreateFeatureRequest(FeatureFields):
    feature_id: Id
    name: FeatureName
    type: Literal["boolean", "metered", "credit_system"]

    def spec(self) -> FeatureSpec:
        sent = self.model_fields_set & set(FeatureFields.model_fields)
        return FeatureSpec(id=self.feature_id, **self.domain_values(sent))


class FeatureIdRequest(WireRequest):
    feature_id: Id


class UpdateFeatureRequest(FeatureFields):
    feature_id: Id
    new_feature_id: Id | None = None
    archived: bool | None = None

    def changes(self) -> FeatureChanges:
        """Only what the caller sent; a null for a required field means "leave it", a null
        display clears it, and a null list empties it."""
        sent = self.domain_values(self.model_fields_set & set(FeatureFields.model_fields))
        return FeatureChanges(
            name=sent.get("name"),
            type=sent.get("type"),
            consumable=sent.get("consumable"),
            archived=self.archived,
            event_names=sent.get("event_names"),
            credit_schema=sent.get("credit_schema"),
            display=sent.get("display", KEEP),
        )


class DisplayResponse(WireResponse):
    singular: str | None
    plural: str | None


class CreditCostResponse(WireResponse):
    metered_feature_id: str
    credit_cost: Decimal


class FeatureResponse(WireResponse):
    id: str
    name: str
    type: str
    consumable: bool
    archived: bool
    event_names: list[str]
    credit_schema: list[CreditCostResponse]
    # Optional but not nullable in Autumn's schema: left out when the feature has none.
    display: DisplayResponse | None = omitted_when_none()


class FeatureListResponse(WireResponse):
    list: list[FeatureResponse]


def feature_response(feature: Feature) -> FeatureResponse:
    return FeatureResponse(
        id=feature.id,
        name=feature.name,
        type=feature.type,
        consumable=feature.consumable,
        archived=feature.archived,
        event_names=list(feature.event_names),
        credit_schema=[CreditCostResponse(**c._asdict()) for c in feature.credit_schema],
        display=DisplayResponse(**feature.display._asdict()) if feature.display else None,
    )
