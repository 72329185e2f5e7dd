"""features.create / get / list / update / delete."""

from __future__ import annotations

from typing import Any

from billing import clock
from billing.domain.errors import FeatureExists, FeatureNotFound, InvalidRequest
from billing.domain.features import Feature, FeatureSpec, credit_systems_using, shaped
from billing.services.retry import on_conflict
from billing.store import catalog
from billing.store.catalog import Catalog


def create_feature(spec: FeatureSpec) -> Feature:
    current = catalog.load()
    feature = shaped(spec, current.features).model_copy(update={"created_at": clock.now_ms()})
    return catalog.put_feature(feature, replacing=None, on_exists=FeatureExists)


def get_feature(feature_id: str) -> Feature:
    return _existing(catalog.load(), feature_id)


def list_features() -> list[Feature]:
    return sorted(catalog.load().features.values(), key=lambda f: f.created_at)


def update_feature(feature_id: str, changes: dict[str, Any], new_id: str | None) -> Feature:
    def attempt() -> Feature:
        current = catalog.load()
        before = _existing(current, feature_id)
        others = {k: v for k, v in current.features.items() if k != feature_id}
        spec = FeatureSpec(
            **{**before.model_dump(include=set(FeatureSpec.model_fields)), **changes}
        )
        after = shaped(spec, others).model_copy(update={"created_at": before.created_at})
        users = _users(current, feature_id)
        if users and (after.type, after.consumable) != (before.type, before.consumable):
            raise _in_use("type", feature_id, users)
        if new_id and new_id != feature_id:
            if users:
                raise _in_use("new_feature_id", feature_id, users)
            return catalog.rename_feature(
                before, after.model_copy(update={"id": new_id}), on_exists=FeatureExists
            )
        return catalog.put_feature(after, replacing=before, on_exists=FeatureExists)

    return on_conflict(attempt)


def delete_feature(feature_id: str) -> None:
    """Deletes an unused feature; one that plans or credit systems use is archived instead,
    so that nothing that refers to it ever dangles."""

    def attempt() -> None:
        current = catalog.load()
        feature = _existing(current, feature_id)
        if _users(current, feature_id):
            if not feature.archived:
                archived = feature.model_copy(update={"archived": True})
                catalog.put_feature(archived, replacing=feature, on_exists=FeatureExists)
            return
        catalog.delete_feature(feature)

    on_conflict(attempt)


def _existing(current: Catalog, feature_id: str) -> Feature:
    feature = current.features.get(feature_id)
    if feature is None:
        raise FeatureNotFound
    return feature


def _users(current: Catalog, feature_id: str) -> list[str]:
    """Plans (any version) and credit systems that refer to this feature."""
    plans = {
        f"plan '{plan.id}'"
        for versions in current.plan_versions.values()
        for plan in versions
        if any(item.feature_id == feature_id for item in plan.terms.items)
    }
    systems = {f"credit system '{f}'" for f in credit_systems_using(feature_id, current.features)}
    return sorted(plans | systems)


def _in_use(field: str, feature_id: str, users: list[str]) -> InvalidRequest:
    message = f"'{feature_id}' is used by {', '.join(users)}"
    return InvalidRequest(
        f"The feature cannot change this way: {message}.",
        details=[{"field": field, "message": message}],
    )
