"""balances.create and balances.update: grants given and adjusted by hand."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from billing import clock
from billing.domain.customers import Customer
from billing.domain.errors import (
    BalanceNotFound,
    BillingInProgress,
    FeatureNotFound,
    InvalidRequest,
)
from billing.domain.holdings import Flag, Grant, Holdings
from billing.domain.schedule import next_reset_at
from billing.domain.terms import Reset, ResetInterval
from billing.domain.usage import usable
from billing.services.balances import catalog_cache
from billing.services.customers.get import get_customer
from billing.services.retry import on_conflict
from billing.store import holdings, profiles


@dataclass(frozen=True)
class NewBalance:
    customer_id: str
    feature_id: str
    included: Decimal = Decimal(0)
    unlimited: bool = False
    reset: Reset | None = None
    expires_at: int | None = None
    next_reset_at: int | None = None
    balance_id: str | None = None


@dataclass(frozen=True)
class BalanceChange:
    customer_id: str
    feature_id: str
    balance_id: str | None = None
    remaining: Decimal | None = None
    add_to_balance: Decimal | None = None
    usage: Decimal | None = None
    included: Decimal | None = None
    interval: ResetInterval | None = None
    next_reset_at: int | None = None
    expires_at: int | None = None


def create_balance(new: NewBalance) -> None:
    _check_next_reset(new, clock.now_ms())

    def attempt() -> None:
        customer = get_customer(new.customer_id)
        # Written only while this very customer exists and is not moving: else look again.
        holdings.add(customer, _new_holding(new), clock.now_ms())

    on_conflict(attempt)


def _new_holding(new: NewBalance) -> Holdings:
    feature = catalog_cache.features_knowing({new.feature_id}).get(new.feature_id)
    if feature is None:
        raise FeatureNotFound
    grant_id = new.balance_id or clock.new_internal_id("cus_ent")
    if feature.type == "boolean":
        flag = Flag(id=grant_id, feature_id=feature.id, plan_id=None, expires_at=new.expires_at)
        return Holdings(flags=(flag,))
    now = clock.now_ms()
    # A given next reset anchors the schedule there; else it runs from now.
    anchor = new.next_reset_at if new.next_reset_at is not None else now
    first_reset = new.next_reset_at or next_reset_at(anchor, new.reset, now)
    grant = Grant(
        id=grant_id,
        feature_id=feature.id,
        plan_id=None,
        included=new.included,
        unlimited=new.unlimited,
        reset=new.reset,
        anchor_at=anchor,
        next_reset_at=first_reset if new.reset is not None else None,
        expires_at=new.expires_at,
    )
    return Holdings(grants=(grant,))


def _check_next_reset(new: NewBalance, now: int) -> None:
    """A first reset given by hand must be one that can happen: of a balance that resets,
    after now (a past one would reset the new balance at once) and before it expires."""
    if new.next_reset_at is None:
        return
    if new.reset is None or new.reset.interval == "one_off":
        raise _invalid_next_reset("needs a reset interval")
    if new.next_reset_at <= now:
        raise _invalid_next_reset("must be in the future")
    if new.expires_at is not None and new.next_reset_at >= new.expires_at:
        raise _invalid_next_reset("must be before expires_at")


def _invalid_next_reset(message: str) -> InvalidRequest:
    return InvalidRequest(
        f"next_reset_at {message}.", details=[{"field": "next_reset_at", "message": message}]
    )


def update_balance(change: BalanceChange) -> None:
    """An operator's change wins against concurrent tracks in bounded time: after a bad input
    check, it fences the customer's holdings (tracks wait, as during a rename), reads them
    again and writes the change with nobody else deducting in between."""

    def attempt() -> None:
        customer = get_customer(change.customer_id)
        _changed_grant(customer, change, clock.now_ms())  # a 404 or 400 fences nothing
        lease = profiles.start_fence(customer, clock.now_ms())
        try:
            fenced = get_customer(change.customer_id)
            if fenced.internal_id != customer.internal_id:
                raise BillingInProgress
            now = clock.now_ms()
            before, after = _changed_grant(fenced, change, now)
            holdings.replace_grant_fenced(fenced, lease, before, after, now)
        except BaseException:
            profiles.lift_fence(customer._replace(version=customer.version + 1), lease)
            raise

    on_conflict(attempt)


def _changed_grant(customer: Customer, change: BalanceChange, now: int) -> tuple[Grant, Grant]:
    """The grant the change is about, as held, and as changed."""
    held = [g for g in customer.holdings.grants if g.feature_id == change.feature_id]
    current = {g.id: g for g in usable(held, now)}
    if change.balance_id is not None:
        chosen = current.get(change.balance_id)
    else:
        chosen = next(iter(current.values()), None)  # the first in deduction order
    if chosen is None:
        raise BalanceNotFound
    before = next(g for g in held if g.id == chosen.id)
    return before, _changed(chosen, change, now)


def _changed(grant: Grant, change: BalanceChange, now: int) -> Grant:
    updated = grant
    if change.included is not None:
        updated = updated._replace(included=change.included)
    if change.interval is not None:
        reset = Reset(interval=change.interval)
        updated = updated._replace(
            reset=reset, anchor_at=now, next_reset_at=next_reset_at(now, reset, now)
        )
    if change.next_reset_at is not None:
        updated = updated._replace(
            next_reset_at=change.next_reset_at, anchor_at=change.next_reset_at
        )
    if change.expires_at is not None:
        updated = updated._replace(expires_at=change.expires_at)
    said = [v is not None for v in (change.remaining, change.add_to_balance, change.usage)]
    if sum(said) > 1:
        raise InvalidRequest(
            "Give one of remaining, add_to_balance and usage.",
            details=[
                {"field": "remaining", "message": "give one of remaining, add_to_balance, usage"}
            ],
        )
    if change.remaining is not None:
        updated = updated._replace(usage=updated.granted - change.remaining)
    elif change.add_to_balance is not None:
        updated = updated._replace(usage=updated.usage - change.add_to_balance)
    elif change.usage is not None:
        updated = updated._replace(usage=change.usage)
    return updated
