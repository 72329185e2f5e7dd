"""A plan customized for one purchase (`customize` on attach): a version of the plan made
for one customer, with a price and items of its own. Pure rules, no I/O."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from billing.domain.errors import InvalidRequest
from billing.domain.features import Feature
from billing.domain.keep import KEEP
from billing.domain.plan_rules import validated
from billing.domain.plans import BasePrice, Plan, PlanChanges, PlanItem


@dataclass(frozen=True)
class Customization:
    """The terms one purchase changes (`customize` on attach): a base price and the items.
    Plain fields, so that an attach asked for later (once a card is saved) keeps them."""

    # True when `price` replaces the plan's base price (None then drops it).
    replaces_price: bool = False
    price: BasePrice | None = None
    # None: the plan's own items.
    items: tuple[PlanItem, ...] | None = None

    def changes(self) -> PlanChanges:
        return PlanChanges(
            price=self.price if self.replaces_price else KEEP,
            items=self.items if self.items is not None else KEEP,
        )


# Custom versions are numbered from here, far above any version plans.update will make.
CUSTOM_VERSIONS_FROM = 1_000_000_000


def customized(
    plan: Plan, customization: Customization, owner: str, features: Mapping[str, Feature]
) -> Plan:
    """The version of `plan` made for one customer (`owner`) with other terms: a price and
    items of its own. Its number is derived from the owner, the plan version and the terms,
    so the same request made again (a retry, a second tab) names the same version, and two
    customers never share one. Checked by the plan rules, as plans.create checks."""
    terms = customization.changes().applied_to(plan).terms
    made_of = json.dumps([owner, plan.id, plan.version, terms.model_dump(mode="json")])
    number = int(hashlib.sha256(made_of.encode()).hexdigest()[:15], 16) % 10**15
    custom = plan.model_copy(
        update={
            "terms": terms,
            "version": CUSTOM_VERSIONS_FROM + number,
            "custom_of": plan.version,
            "auto_enable": False,
            "in_use": False,
            "revision": 1,
            "stripe": None,
        }
    )
    try:
        return validated(custom, features)
    except InvalidRequest as error:
        # The rules name the plan's fields: here they are under `customize`.
        details = [{**d, "field": f"customize.{d.get('field')}"} for d in error.details or []]
        raise InvalidRequest(error.message, details=details) from error
