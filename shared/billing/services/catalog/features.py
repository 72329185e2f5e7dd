"""features.create / get / list / update / delete."""

from __future__ import annotations

from typing import Any

from billing import clock
from billing.domain.errors import FeatureExists, FeatureInUse, FeatureNotFound
from billing.domain.feature_changes import FeatureChanges, FeatureSpec, shaped
from billing.domain.features import Feature, credit_systems_using
from billing.services.retry import on_conflict
from billing.store import catalog, features
from billing.store.catalog import Catalog


def create_feature(spec: FeatureSpec) -> Feature:
    current = catalog.load()
    feature = shaped(spec, current.features)._replace(created_at=clock.now_ms())
    return catalog.put_feature(feature, replacing=None, on_exists=FeatureExists)


def get_feature(feature_id: str) -> Feature:
    return _existing(catalog.load(), feature_id)


def list_features() -> list[Feature]:
    return sorted(catalog.load().features.values(), key=lambda f: f.created_at)


def update_feature(feature_id: str, changes: FeatureChanges, new_id: str | None) -> Feature:
    """A rename or a change of type is refused while plans, credit systems or customers use
    the feature: what they hold would no longer match it (Autumn refuses these too)."""

    def attempt() -> Feature:
        current = catalog.load()
        before = _existing(current, feature_id)
        others = {k: v for k, v in current.features.items() if k != feature_id}
        spec = changes.applied_to(before)
        renamed = new_id is not None and new_id != feature_id
        if renamed:
            _refuse_if_used(current, feature_id, "new_feature_id")
        elif spec.type != before.type:
            _refuse_if_used(current, feature_id, "type")
        elif spec.consumable not in (None, before.consumable):
            _refuse_if_used(current, feature_id, "consumable")
        after = shaped(spec, others)._replace(created_at=before.created_at)
        if renamed and new_id is not None:
            return catalog.rename_feature(
                before, after._replace(id=new_id), on_exists=FeatureExists
            )
        return catalog.put_feature(after, replacing=before, on_exists=FeatureExists)

    return on_conflict(attempt)


def delete_feature(feature_id: str) -> None:
    """Deletes an unused feature; one that plans, credit systems or customers use is archived
    instead, so that nothing that refers to it ever dangles. (Autumn refuses to delete a
    feature a product or credit system uses; archiving keeps what customers hold working
    and takes the feature out of new use.)"""

    def attempt() -> None:
        current = catalog.load()
        feature = _existing(current, feature_id)
        if _catalog_users(current, feature_id) or features.holders(feature_id, limit=1):
            if not feature.archived:
                archived = feature._replace(archived=True)
                catalog.put_feature(archived, replacing=feature, on_exists=FeatureExists)
            return
        catalog.delete_feature(feature)

    on_conflict(attempt)


def _existing(current: Catalog, feature_id: str) -> Feature:
    feature = current.features.get(feature_id)
    if feature is None:
        raise FeatureNotFound
    return feature


def _catalog_users(current: Catalog, feature_id: str) -> list[str]:
    """Plans (any version) and credit systems that refer to this feature."""
    plans = {
        f"plan '{plan.id}'"
        for versions in current.plan_versions.values()
        for plan in versions
        if any(item.feature_id == feature_id for item in plan.terms.items)
    }
    systems = {f"credit system '{f}'" for f in credit_systems_using(feature_id, current.features)}
    return sorted(plans | systems)


def _refuse_if_used(current: Catalog, feature_id: str, field: str) -> None:
    """Raises FeatureInUse naming the plans and credit systems that use the feature and a
    few of the customers that hold it. Holders come from an index that lags writes by a
    moment: a grant created in the same instant as the change may be missed."""
    users = _catalog_users(current, feature_id)
    held_by = features.holders(feature_id)
    customer_ids = [c for c in held_by if c is not None]
    if customer_ids:
        users.append("customers " + ", ".join(f"'{c}'" for c in customer_ids))
    if len(customer_ids) < len(held_by):
        users.append("customers without an id")
    if not users:
        return
    message = f"'{feature_id}' is used by {', '.join(users)}"
    detail: dict[str, Any] = {"field": field, "message": message}
    if customer_ids:
        detail["customer_ids"] = customer_ids
    raise FeatureInUse(f"The feature cannot change this way: {message}.", details=[detail])
