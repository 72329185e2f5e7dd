"""balances.check: may this customer use this feature now?"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING

from billing import clock
from billing.domain.customers import Customer
from billing.domain.errors import CustomerNotFound, FeatureNotFound
from billing.domain.features import Feature
from billing.domain.holdings import FeatureBalance, Flag, balances
from billing.domain.usage import draw, paying_features, usable
from billing.numbers import ONE
from billing.services import catalog_cache
from billing.services.track import TrackResult, Usage, track
from billing.store import customers

if TYPE_CHECKING:
    from billing.services.check_preview import Preview


@dataclass(frozen=True)
class CheckResult:
    allowed: bool
    # The balance that decides; None when a deduction touched several (see `tracked`).
    balance: FeatureBalance | None
    flag: Flag | None
    # With send_event: what was deducted (None when not allowed).
    tracked: TrackResult | None = None
    # With with_preview, when denied: the plans that would grant the feature.
    preview: Preview | None = None


def check(
    customer_id: str,
    feature_id: str,
    required_balance: Decimal = ONE,
    send_event: bool = False,
    properties: dict[str, object] | None = None,
    with_preview: bool = False,
) -> CheckResult:
    customer = customers.load(customer_id)  # the one read of the common case
    if customer is None:
        raise CustomerNotFound
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
    required_balance: Decimal,
    send_event: bool,
    properties: dict[str, object] | None,
) -> CheckResult:
    customer_id, feature_id = customer.id or "", feature.id
    held = customer.holdings
    if feature.type == "boolean":
        flag = next((f for f in held.flags if f.feature_id == feature_id), None)
        return CheckResult(allowed=flag is not None, balance=None, flag=flag)

    now = clock.now_ms()
    payers = paying_features(feature_id, features, held.grants)
    # Decided as the deduction would be: all of it from the payers together, or denied.
    allowed = draw(
        feature_id, payers, held.grants, required_balance, now, "overflow", all_or_nothing=True
    ).covered
    balance = balances(usable(held.grants, now)).get(payers[0].feature_id)
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
            overage="overflow",
            all_or_nothing=True,
        ),
        loaded=customer,
    )
    touched = list(tracked.balances.values())
    return CheckResult(
        allowed=tracked.applied,
        balance=touched[0] if len(touched) == 1 else None,
        flag=None,
        tracked=tracked,
    )
