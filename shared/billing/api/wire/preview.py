"""The `preview` of a denied check: Autumn's paywall shape, with plans as its products."""

from __future__ import annotations

from typing import Any, Literal

from billing.api.wire.common import WireResponse
from billing.domain.environment import Environment
from billing.domain.features import Feature
from billing.domain.plans import Plan, PlanItem
from billing.services.balances.check_preview import Preview


class PreviewProduct(WireResponse):
    id: str
    name: str
    group: str | None
    env: Environment
    is_add_on: bool
    is_default: bool
    archived: bool
    version: int
    created_at: int
    items: list[dict[str, Any]]
    free_trial: dict[str, Any] | None
    base_variant_id: None = None


class CheckPreviewResponse(WireResponse):
    scenario: Literal["usage_limit", "feature_flag"]
    title: str
    message: str
    feature_id: str
    feature_name: str
    products: list[PreviewProduct]


def preview_response(preview: Preview, env: Environment) -> dict[str, Any]:
    name = preview.feature.name
    if preview.scenario == "usage_limit":
        title, message = f"{name} limit reached", f"You have used all of your {name}."
    else:
        title, message = f"Upgrade to use {name}", f"Your plan does not include {name}."
    return CheckPreviewResponse(
        scenario=preview.scenario,
        title=title,
        message=message,
        feature_id=preview.feature.id,
        feature_name=name,
        products=[_product(plan, preview.features, env) for plan in preview.plans],
    ).model_dump()  # decimals kept: the answer writes them as exact numbers


def _product(plan: Plan, features: dict[str, Feature], env: Environment) -> PreviewProduct:
    price = plan.terms.price
    items = (
        [
            {
                "type": "price",
                "feature_id": None,
                "price": price.amount,
                "interval": _interval(price.interval),
                "interval_count": price.interval_count,
            }
        ]
        if price is not None
        else []
    )
    items += [_item(item, features.get(item.feature_id)) for item in plan.terms.items]
    trial = plan.terms.free_trial
    return PreviewProduct(
        id=plan.id,
        name=plan.name,
        group=plan.group,
        env=env,
        is_add_on=plan.add_on,
        is_default=plan.auto_enable,
        archived=plan.archived,
        version=plan.shown_version,
        created_at=plan.created_at,
        items=items,
        free_trial=None
        if trial is None
        else {
            "duration": trial.duration_type,
            "length": trial.duration_length,
            "unique_fingerprint": False,
            "card_required": trial.card_required,
        },
    )


def _item(item: PlanItem, feature: Feature | None) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "type": "feature" if item.price is None else "priced_feature",
        "feature_id": item.feature_id,
        "feature_type": _feature_type(feature),
        "included_usage": "inf" if item.unlimited else item.included,
        "interval": _interval(item.reset.interval) if item.reset else None,
        "interval_count": item.reset.interval_count if item.reset else None,
    }
    if item.price is not None:
        shown |= {
            "price": item.price.amount,
            "usage_model": "pay_per_use"
            if item.price.billing_method == "usage_based"
            else "prepaid",
            "billing_units": item.price.billing_units,
        }
    return shown


def _feature_type(feature: Feature | None) -> str | None:
    if feature is None:
        return None
    if feature.type == "boolean":
        return "boolean"
    return "single_use" if feature.consumable else "continuous_use"


def _interval(interval: str) -> str | None:
    return None if interval == "one_off" else interval
