"""balances.check with `with_preview`: when access is denied, the plans that would grant it.

Only denied checks that ask for it come here, so the catalog's plans (and their rules) stay
out of the hot path's cold start: check imports this module when it needs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from billing.domain.features import Feature
from billing.domain.holdings import Holdings
from billing.domain.plans import Plan
from billing.store import catalog


@dataclass(frozen=True)
class Preview:
    # usage_limit: the customer has a balance of it and used it up; feature_flag: no plan of
    # theirs includes it.
    scenario: Literal["usage_limit", "feature_flag"]
    feature: Feature
    plans: tuple[Plan, ...]
    # The catalog's features, to show what each plan item is.
    features: dict[str, Feature]


def preview(feature: Feature, held: Holdings) -> Preview:
    holds = {s.plan_id for s in held.subscriptions}
    current = catalog.load()
    granting = tuple(
        plan
        for plan in current.plans()
        if not plan.archived
        and plan.id not in holds
        and any(item.feature_id == feature.id for item in plan.terms.items)
    )
    has_balance = any(g.feature_id == feature.id for g in held.grants)
    return Preview(
        scenario="usage_limit" if has_balance else "feature_flag",
        feature=feature,
        plans=granting,
        features=current.features,
    )
