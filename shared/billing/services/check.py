"""balances.check: may this customer use this feature now?"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from billing import clock
from billing.domain.customers import Customer
from billing.domain.errors import FeatureNotFound
from billing.domain.features import Feature
from billing.domain.holdings import FeatureBalance, Flag, balances
from billing.domain.usage import overage_allowed, paying_features, usable
from billing.services import catalog_cache
from billing.services.customers.get import get_customer
from billing.services.track import TrackResult, Usage, track

if TYPE_CHECKING:
    from billing.services.check_preview import Preview


@dataclass(frozen=True)
class CheckResult:
    allowed: bool
    balance: FeatureBalance | None
    flag: Flag | None
    # With send_event: what was deducted (None when not allowed).
    tracked: TrackResult | None = None
    # With with_preview, when denied: the plans that would grant the feature.
    preview: Preview | None = None


def check(
    customer_id: str,
    feature_id: str,
    required_balance: float = 1,
    send_event: bool = False,
    properties: dict[str, object] | None = None,
    with_preview: bool = False,
) -> CheckResult:
    customer = get_customer(customer_id)  # the one read of the common case
    features = catalog_cache.features_knowing({feature_id})
    feature = features.get(feature_id)
    if feature is None:
        raise FeatureNotFound
    result = _decided(customer, feature, features, required_balance, send_event, properties)
    if result.allowed or not with_preview:
        return result
    # Imported here: only a denied check asking for a preview reads the plans.
    from billing.services.check_preview import preview

    return replace(result, preview=preview(feature, customer.holdings))


def _decided(
    customer: Customer,
    feature: Feature,
    features: dict[str, Feature],
    required_balance: float,
    send_event: bool,
    properties: dict[str, object] | None,
) -> CheckResult:
    customer_id, feature_id = customer.id or "", feature.id
    held = customer.holdings
    if feature.type == "boolean":
        flag = next((f for f in held.flags if f.feature_id == feature_id), None)
        return CheckResult(allowed=flag is not None, balance=None, flag=flag)

    now = clock.now_ms()
    payer, cost = paying_features(feature_id, features, held.grants)[0]
    grants = usable([g for g in held.grants if g.feature_id == payer], now)
    balance = balances(grants).get(payer)
    needed = required_balance * cost
    allowed = balance is not None and (
        balance.unlimited or balance.remaining >= needed or overage_allowed(grants)
    )
    if not (allowed and send_event):
        return CheckResult(allowed=allowed, balance=balance, flag=None)
    # Deduct all of it or nothing, atomically: of concurrent checks, only as many pass as
    # the balance allows, whatever each one read.
    tracked = track(
        Usage(
            customer_id=customer_id,
            feature_id=feature_id,
            value=required_balance,
            properties=properties or {},
            all_or_nothing=True,
        ),
        loaded=customer,
    )
    return CheckResult(
        allowed=tracked.applied,
        balance=tracked.balances.get(payer),
        flag=None,
        tracked=tracked,
    )
