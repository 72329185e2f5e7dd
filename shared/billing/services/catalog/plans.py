"""plans.create / get / list / update / delete, with versions and the Stripe mirror."""

from __future__ import annotations

from billing import clock
from billing.domain.errors import BillingInProgress, PlanExists, PlanNotFound
from billing.domain.plan_rules import validated
from billing.domain.plans import Plan, PlanChanges, needs_new_version
from billing.services.retry import on_conflict
from billing.store import catalog
from billing.store.catalog import Catalog
from billing.stripe_api import StripeFactory


def create_plan(plan: Plan, stripe: StripeFactory) -> Plan:
    current = catalog.load()
    if plan.id in current.plan_versions:
        raise PlanExists
    shaped = validated(plan, current.features).model_copy(
        update={"version": 1, "created_at": clock.now_ms()}
    )
    return catalog.put_plan(_mirrored(shaped, stripe), replacing=None, on_exists=PlanExists)


def get_plan(plan_id: str, version: int | None = None) -> Plan:
    current = catalog.load()
    plan = current.latest(plan_id) if version is None else current.version(plan_id, version)
    if plan is None:
        raise PlanNotFound
    return plan


def list_plans(include_archived: bool, all_versions: bool) -> list[Plan]:
    current = catalog.load()
    plans = (
        [p for versions in current.plan_versions.values() for p in versions]
        if all_versions
        else current.plans()
    )
    shown = [p for p in plans if include_archived or not p.archived]
    return sorted(shown, key=lambda p: (p.created_at, p.id, p.version))


def update_plan(
    plan_id: str,
    changes: PlanChanges,
    stripe: StripeFactory,
    force_version: bool = False,
) -> Plan:
    """Applies the changes to the latest version; new terms on a version customers hold
    make a new version instead, so that they keep what they bought. `force_version` makes
    a new version whatever changed; being the latest, it is the one new customers get
    (auto_enable goes with it)."""

    def attempt() -> Plan:
        current = catalog.load()
        before = _latest(current, plan_id)
        after = validated(changes.applied_to(before), current.features)
        if force_version or needs_new_version(before, after.terms):
            successor = after.model_copy(
                update={
                    "version": before.version + 1,
                    "created_at": clock.now_ms(),
                    "in_use": False,
                    "stripe": None,
                }
            )
            # Two concurrent updates both making version n+1: one wins, the other retries.
            return catalog.put_plan(
                _mirrored(successor, stripe), replacing=None, on_exists=BillingInProgress
            )
        if after.terms != before.terms or after.name != before.name:
            after = _mirrored(after, stripe)
        return catalog.put_plan(after, replacing=before, on_exists=PlanExists)

    return on_conflict(attempt)


def delete_plan(plan_id: str) -> None:
    """Deletes a plan nobody holds; one that customers hold is archived instead (hidden from
    listings and from new customers, kept for those who have it)."""

    def attempt() -> None:
        current = catalog.load()
        latest = _latest(current, plan_id)
        versions = current.plan_versions[plan_id]
        # A version made for one customer's purchase refers to the plan: kept, as in use.
        custom = any(key[0] == plan_id for key in current.custom_versions)
        if custom or any(v.in_use for v in versions):
            if not latest.archived:
                archived = latest.model_copy(update={"archived": True})
                catalog.put_plan(archived, replacing=latest, on_exists=PlanExists)
            return
        catalog.delete_plan_versions(versions)

    on_conflict(attempt)


def _latest(current: Catalog, plan_id: str) -> Plan:
    plan = current.latest(plan_id)
    if plan is None:
        raise PlanNotFound
    return plan


def _mirrored(plan: Plan, stripe: StripeFactory) -> Plan:
    """A priced plan version gets its Stripe product and prices before it is saved, so a
    saved paid version can always be sold. Free versions need nothing in Stripe."""
    if plan.free:
        return plan.model_copy(update={"stripe": None})
    return plan.model_copy(update={"stripe": stripe().catalog.mirror_plan(plan)})
