"""balances.track: record a use and deduct it, exactly once, exactly right.

One consistent read of the customer's partition decides the deduction; one transaction
writes it (grant updates with conditions, the usage event, and the Idempotency-Key marker
holding the answer). A lost race hands back the grants as they are now: decide again.
"""

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from billing import clock
from billing.domain.customers import Customer
from billing.domain.errors import BillingInProgress, FeatureNotFound
from billing.domain.features import Feature
from billing.domain.holdings import FeatureBalance, Grant, balances
from billing.domain.usage import (
    Deduction,
    Draw,
    OverageBehavior,
    after_changes,
    draw,
    paying_features,
    relevant_features,
    usable,
)
from billing.services import idempotency
from billing.services.balances import catalog_cache
from billing.services.customers.get import get_customer
from billing.services.retry import on_conflict
from billing.store import usage

if TYPE_CHECKING:
    from billing.services.app_webhooks.events import Outgoing

ATTEMPTS = 8


class Usage(NamedTuple):
    customer_id: str
    value: Decimal
    properties: dict[str, Any]
    feature_id: str | None = None
    event_name: str | None = None
    timestamp: int | None = None
    # Autumn's overage_behavior. Both take all of a use where a usage-based price bills the
    # overage and stop at zero elsewhere (README, "Deliberate differences"); kept with the
    # use so that a queued use and its idempotency fingerprint carry what was asked.
    overage: OverageBehavior = "cap"
    all_or_nothing: bool = False
    idempotency_key: str | None = None
    fingerprint: str = ""
    # Further keys claimed with the first, each on its own (track's body key beside the
    # header's): a retry under any of them is a retry of this use.
    more_keys: tuple[str, ...] = ()

    @property
    def claims(self) -> list[str]:
        """Every Idempotency-Key this use claims."""
        return [] if self.idempotency_key is None else [self.idempotency_key, *self.more_keys]


class TrackResult(NamedTuple):
    draws: list[Draw]
    # Every balance the use touched, as it leaves them.
    balances: dict[str, FeatureBalance]
    # A replay of the first call with this Idempotency-Key: its stored answer.
    replayed: str | None = None
    # What the answer shows, as Autumn does: each feature used and every credit system that
    # prices it, with the customer's balance as the use leaves it (None where none is held)...
    related: dict[str, FeatureBalance | None] = {}
    # ...and the one balance that speaks for the use (None when the features used give
    # several, or none).
    balance: FeatureBalance | None = None

    @property
    def deductions(self) -> list[Deduction]:
        return [d for each in self.draws for d in each.deductions]

    @property
    def applied(self) -> bool:
        return all(each.covered for each in self.draws)


# Turns a decided track into the JSON text of the answer stored with its Idempotency-Key.
AnswerOf = Callable[[TrackResult], str]


def track(
    use: Usage, loaded: Customer | None = None, answer_of: AnswerOf | None = None
) -> "TrackResult":
    preloaded = loaded

    def attempt() -> "TrackResult":
        nonlocal preloaded
        customer, preloaded = preloaded or get_customer(use.customer_id), None
        return _recorded(use, customer, answer_of)

    # A lost race (somebody else deducted or reset first, or the customer is moving) reads
    # and decides again.
    return on_conflict(attempt, attempts=ATTEMPTS)


def _recorded(use: Usage, customer: Customer, answer_of: AnswerOf | None) -> "TrackResult":
    result = decided(use, customer)
    if use.all_or_nothing and not result.applied:
        return result  # denied: nothing to deduct, nothing to record
    answers = []
    if use.claims:
        body = answer_of(result) if answer_of else "{}"
        answers = [idempotency.answer_in_transaction(k, use.fingerprint, body) for k in use.claims]
    event = event_of(use, result)
    # Kept in the outbox by the use's own transaction: no write of its own before the send.
    limits = _limit_events(use.customer_id, _limits_reached(customer, result), event.id)
    try:
        usage.record(
            customer, result.deductions, event, answers, also=limits.writes() if limits else ()
        )
    except usage.KeyHeld as held:
        first = idempotency.replay_of(held.holder, use.fingerprint)
        return TrackResult(draws=[], balances={}, replayed=first.body)
    except usage.GrantsMoved as moved:
        raise BillingInProgress from moved
    if limits is not None:
        from billing.services.app_webhooks import events as app_events

        app_events.send(limits)
    return result


def tell_limits_reached(
    customer_id: str, customer: Customer, result: "TrackResult", cause: str
) -> None:
    """`balances.limit_reached` for each feature this use took the last of, kept in the
    outbox and queued (the usage worker's path, after its own write)."""
    reached = _limits_reached(customer, result)
    if not reached:
        return
    from billing.services.app_webhooks import events as app_events

    for feature_id in reached:
        app_events.publish(
            app_events.LimitReached(cause=cause, customer_id=customer_id, feature_id=feature_id)
        )


def _limits_reached(customer: Customer, result: "TrackResult") -> list[str]:
    """The features this use takes the last of. Nothing is read for it, and a use that
    leaves its features usable (nearly all) loads nothing more."""
    exhausted = [f for f, b in result.balances.items() if not _usable(b)]
    if not exhausted:
        return []
    before = balances(usable(customer.holdings.grants, clock.now_ms()))
    return [f for f in exhausted if f in before and _usable(before[f])]


def _limit_events(customer_id: str, reached: list[str], cause: str) -> "Outgoing | None":
    """The `balances.limit_reached` events, ready for the outbox (None when none is due, or
    the deployment sends no events). Imported only when a limit is reached: off the hot path."""
    if not reached:
        return None
    from billing.services.app_webhooks import events as app_events

    going = app_events.outgoing(
        [
            app_events.LimitReached(cause=cause, customer_id=customer_id, feature_id=feature_id)
            for feature_id in reached
        ]
    )
    return going if going.entries else None


def _usable(balance: FeatureBalance) -> bool:
    return balance.unlimited or balance.overage_allowed or balance.remaining > 0


def decided(use: Usage, customer: Customer) -> "TrackResult":
    """What tracking `use` takes from the customer's grants as read (nothing written)."""
    now = clock.now_ms()
    features = catalog_of(use)
    targets = features_used(use, features)
    held = customer.holdings.grants
    draws = [
        draw(
            feature_id,
            paying_features(feature_id, features, held),
            held,
            use.value,
            now,
            use.all_or_nothing,
        )
        for feature_id in targets
    ]
    after = balances(after_changes(usable(held, now), [d for e in draws for d in e.deductions]))
    related = {
        related_id: after.get(related_id)
        for feature_id in targets
        for related_id in relevant_features(feature_id, features)
    }
    speaking = {
        chosen: after[chosen]
        for feature_id in targets
        if (chosen := _speaking_for(feature_id, features, after, draws)) in after
    }
    return TrackResult(
        draws=draws,
        balances=_after(held, draws, now),
        related=related,
        balance=next(iter(speaking.values())) if len(speaking) == 1 else None,
    )


def _speaking_for(
    feature_id: str,
    features: dict[str, Feature],
    after: dict[str, FeatureBalance],
    draws: list[Draw],
) -> str:
    """The feature whose balance answers for a use of `feature_id` (Autumn's choice): an
    unlimited one if held, else the first that paid (the feature before its credits), else
    a credit system pricing it, else the feature itself."""
    relevant = relevant_features(feature_id, features)
    unlimited = next((f for f in relevant if f in after and after[f].unlimited), None)
    if unlimited is not None:
        return unlimited
    paid = {d.feature_id for each in draws for d in each.deductions if d.applied > 0}
    first_paid = next((f for f in relevant if f in paid), None)
    if first_paid is not None:
        return first_paid
    return next((f for f in relevant if f != feature_id), feature_id)


def catalog_of(use: Usage) -> dict[str, Feature]:
    """The catalog as fresh as `use` needs it: knowing its feature or its event name."""
    asked = {use.feature_id} if use.feature_id else None
    return catalog_cache.features_knowing(asked, use.event_name)


def features_used(use: Usage, features: dict[str, Feature]) -> list[str]:
    if use.feature_id is not None:
        if use.feature_id not in features:
            raise FeatureNotFound
        return [use.feature_id]
    named = [f.id for f in features.values() if use.event_name in f.event_names and _metered(f)]
    if not named:
        raise FeatureNotFound(f"No feature is tracked by the event '{use.event_name}'.")
    return named


def _metered(feature: Feature) -> bool:
    return feature.type != "boolean" and not feature.archived


def _after(held: tuple[Grant, ...], draws: list[Draw], now: int) -> dict[str, FeatureBalance]:
    """The balances the use touched: those it took from, or (nothing taken) the first
    balance of each feature used."""
    deductions = [d for each in draws for d in each.deductions]
    grants = after_changes(usable(held, now), deductions)
    touched = {d.feature_id for d in deductions if d.changes} or {
        each.deductions[0].feature_id for each in draws if each.deductions
    }
    return {f: b for f, b in balances(grants).items() if f in touched}


def event_of(use: Usage, result: TrackResult, event_id: str | None = None) -> usage.UsageEvent:
    return usage.UsageEvent(
        # The feature asked for, and the balances that paid for it (a credit system).
        feature_ids=tuple(
            dict.fromkeys(
                [
                    *([use.feature_id] if use.feature_id else []),
                    *(d.feature_id for d in result.deductions),
                ]
            )
        ),
        deductions=tuple(
            {
                "balance_id": change.grant.id,
                "feature_id": change.grant.feature_id,
                "plan_id": change.grant.plan_id,
                "value": change.value,
            }
            for deduction in result.deductions
            for change in deduction.changes
            if change.value
        ),
        id=event_id or clock.new_internal_id("evt"),
        customer_id=use.customer_id,
        feature_id=use.feature_id,
        event_name=use.event_name,
        value=use.value,
        timestamp=use.timestamp if use.timestamp is not None else clock.now_ms(),
        properties=use.properties,
        idempotency_key=use.idempotency_key,
    )
