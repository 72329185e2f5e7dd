"""balances.check: may this customer use this feature now?"""

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, NamedTuple

from billing import clock
from billing.domain.customers import Customer
from billing.domain.errors import FeatureNotFound
from billing.domain.features import Feature
from billing.domain.holdings import FeatureBalance, Flag, balances
from billing.domain.usage import draw, paying_features, usable
from billing.numbers import ONE
from billing.services import idempotency
from billing.services.balances import catalog_cache
from billing.services.balances.track import TrackResult, Usage, track
from billing.services.customers.get import get_customer

if TYPE_CHECKING:
    from billing.services.balances.check_preview import Preview


class CheckResult(NamedTuple):
    allowed: bool
    # The balance that decides; None when a deduction touched several (see `tracked`).
    balance: FeatureBalance | None
    flag: Flag | None
    # With send_event: what was deducted (None when not allowed).
    tracked: TrackResult | None = None
    # With with_preview, when denied: the plans that would grant the feature.
    preview: "Preview | None" = None
    # A retry of a check that sent its event under an Idempotency-Key: the first answer.
    replayed: str | None = None


class SentEventKey(NamedTuple):
    """The Idempotency-Key of a check with send_event, and how its answer is written."""

    key: str
    fingerprint: str
    # The JSON text of the answer, stored with the key.
    answer_of: Callable[[CheckResult], str]


def check(
    customer_id: str,
    feature_id: str,
    required_balance: Decimal = ONE,
    send_event: bool = False,
    properties: dict[str, object] | None = None,
    with_preview: bool = False,
    keyed: SentEventKey | None = None,
) -> "CheckResult":
    customer = get_customer(customer_id)  # the one read of the common case
    features = catalog_cache.features_knowing({feature_id})
    feature = features.get(feature_id)
    if feature is None:
        raise FeatureNotFound
    event_key = keyed if send_event else None
    result = _decided(
        customer, feature, features, required_balance, send_event, properties, event_key
    )
    if result.replayed is not None:
        return result
    if not result.allowed and event_key is not None:
        # Denied now, but a first call with this key may have been allowed (and deducted):
        # a retry answers as it did.
        first = idempotency.first_answer(event_key.key, event_key.fingerprint)
        if first is not None:
            return result._replace(replayed=first.body)
    if result.allowed or not with_preview:
        return result
    # Imported here: only a denied check asking for a preview reads the plans.
    from billing.services.balances.check_preview import preview

    return result._replace(preview=preview(feature, customer.holdings))


def _decided(
    customer: Customer,
    feature: Feature,
    features: dict[str, Feature],
    required_balance: Decimal,
    send_event: bool,
    properties: dict[str, object] | None,
    keyed: SentEventKey | None,
) -> "CheckResult":
    customer_id, feature_id = customer.id or "", feature.id
    held = customer.holdings
    if feature.type == "boolean":
        flag = next((f for f in held.flags if f.feature_id == feature_id), None)
        return CheckResult(allowed=flag is not None, balance=None, flag=flag)

    now = clock.now_ms()
    payers = paying_features(feature_id, features, held.grants)
    # Decided as the deduction would be: all of it from the payers together, or denied.
    allowed = draw(
        feature_id, payers, held.grants, required_balance, now, all_or_nothing=True
    ).covered
    balance = balances(usable(held.grants, now)).get(payers[0].feature_id)
    if not (allowed and send_event):
        return CheckResult(allowed=allowed, balance=balance, flag=None)
    # Deduct all of it or nothing, atomically: of concurrent checks, only as many pass as
    # the balance allows, whatever each one read.

    def result_of(tracked: TrackResult) -> "CheckResult":
        return CheckResult(
            allowed=tracked.applied,
            # As Autumn answers: the balance speaking for the use, else the feature's own.
            balance=tracked.balance or tracked.related.get(feature_id),
            flag=None,
            tracked=tracked,
            replayed=tracked.replayed,
        )

    tracked = track(
        Usage(
            customer_id=customer_id,
            feature_id=feature_id,
            value=required_balance,
            properties=properties or {},
            overage="overflow",
            all_or_nothing=True,
            idempotency_key=keyed.key if keyed else None,
            fingerprint=keyed.fingerprint if keyed else "",
        ),
        loaded=customer,
        answer_of=(lambda t: keyed.answer_of(result_of(t))) if keyed else None,
    )
    return result_of(tracked)
