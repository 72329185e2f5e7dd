"""Customers as a whole: a profile (`store.profiles`) and what it holds (`store.holdings`
writes it, `store.holding_items` reads it), loaded together and created, moved and deleted
whatever the number of items they hold.

No step is ever half-visible: holdings are written ahead of the profile that reveals them and
removed after the profile that revealed them is gone, and readers keep only the holdings of
the profile's owner. Each operation is safe to retry from the start.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from billing import clock
from billing.domain.customers import Customer, PageQuery
from billing.domain.errors import BillingError, StoreUnavailable
from billing.store import (
    customer_guards,
    customer_index,
    holding_items,
    holdings,
    moves,
    profiles,
    writes,
)
from billing.store.profiles import pk_of
from billing.store.writes import Write

__all__ = [
    "create",
    "delete",
    "load",
    "load_by_stripe_id",
    "load_unclaimed",
    "move",
    "page",
    "pk_of",
    "save",
]


def load(customer_id: str) -> Customer | None:
    """One consistent read of the customer's partition."""
    return _load_partition(profiles.pk_of_id(customer_id))


def load_unclaimed(email: str) -> Customer | None:
    """The id-less customer holding this email, if any (guard, then its partition)."""
    pk = customer_guards.load_unclaimed_pk(email)
    return None if pk is None else _load_partition(pk)


def load_by_stripe_id(stripe_id: str) -> Customer | None:
    """The customer linked to this Stripe customer (its link guard, then its partition);
    None when none is, or the link no longer matches the customer's own Stripe id."""
    pk = customer_guards.linked_pk(stripe_id)
    found = None if pk is None else _load_partition(pk)
    return found if found is not None and found.stripe_id == stripe_id else None


def create(customer: Customer, also: list[Write] | None = None) -> None:
    """Creates the customer and what it holds: the holdings first (invisible), then the
    profile and its guards in one transaction. `also` joins that transaction (plan versions
    marked in use). Losing to another creation leaves nothing behind."""
    pk, owner = pk_of(customer), customer.internal_id
    try:
        holdings.put_ahead(pk, owner, customer.holdings)
        writes.run(profiles.created(customer, clock.now_ms()) + (also or []))
    except StoreUnavailable:
        # A write that timed out may have landed, only its answer lost. Read back first (a
        # failing read leaves the holdings, invisible, rather than strip a live customer):
        # if the profile is ours, the customer is created with all it holds.
        if _owner_of(pk) == owner:
            return
        holdings.remove_owned(pk, owner)
        raise
    except BillingError:
        holdings.remove_owned(pk, owner)
        raise


def _owner_of(pk: str) -> str | None:
    found = _load_partition(pk)
    return None if found is None else found.internal_id


def save(before: Customer, after: Customer) -> Customer:
    """The profile's fields, if nobody changed them meanwhile (else BillingInProgress)."""
    return profiles.save(before, after, clock.now_ms())


def move(before: Customer, after: Customer) -> Customer:
    """Moves a customer and everything it holds to `after.id` (a claim or a rename).

    The profile is marked moving and the new id reserved at once, which fences every write
    of the holdings; the holdings as they now stand are copied under the new id (invisible);
    one small transaction switches the profiles and guards; the old items are removed.
    """
    moved = after._replace(version=before.version + 2)
    old_pk, new_pk = pk_of(before), pk_of(moved)
    lease = [moves.start_move(before, new_pk, clock.now_ms())]

    def renewed() -> None:
        # Between chunks of copies: a large customer never outlasts the lease.
        lease[0] = moves.renew_move(before, new_pk, lease[0], clock.now_ms())

    try:
        fenced = _load_partition(old_pk)
        held = fenced.holdings if fenced is not None else before.holdings
        # Copies an earlier, abandoned move may have left there go first.
        holdings.remove_owned(new_pk, before.internal_id)
        since = fenced.events_since if fenced is not None else before.events_since
        holdings.put_ahead(new_pk, before.internal_id, held, since, renewed)
        if clock.now_ms() > lease[0] - moves.MOVE_LEASE_MS // 2:
            renewed()  # the switch needs some lease left
        moves.finish_move(before, moved, lease[0], clock.now_ms())
    except Exception:
        # Conditional on the mark and placeholder still being ours: a no-op if the switch
        # did happen and only its answer was lost.
        moves.abandon_move(before, new_pk, lease[0])
        raise
    holdings.remove_owned(old_pk, before.internal_id)
    return moved._replace(holdings=held)


def delete(customer: Customer) -> None:
    """Deletes the profile and releases the guards in one transaction: the customer and its
    usage events (found through the profile) are gone at once. Its holdings are removed
    next, as they stand once no write can reach them any more."""
    writes.run(profiles.deleted(customer, clock.now_ms()))
    holdings.remove_owned(pk_of(customer), customer.internal_id)


def page(query: PageQuery) -> tuple[list[Customer], str | None]:
    """One page of customers in creation order, each with what it holds."""
    found, cursor = customer_index.page(query)
    return _with_holdings(found), cursor


def _with_holdings(found: list[Customer]) -> list[Customer]:
    """The index holds profiles only: each listed customer's partition adds its holdings.
    The reads run side by side, so a page costs about one round trip more, not fifty."""
    if not found:
        return found
    with ThreadPoolExecutor(max_workers=min(8, len(found))) as pool:
        loaded = list(pool.map(lambda c: _load_partition(pk_of(c)), found))
    return [fresh or profile for fresh, profile in zip(loaded, found, strict=True)]


def _load_partition(pk: str) -> Customer | None:
    items = holding_items.partition_items(pk)
    profile = next((i for i in items if profiles.is_profile(i)), None)
    if profile is None:
        return None
    customer = profiles.customer_from(profile)
    owner = customer.internal_id
    return customer._replace(
        holdings=holding_items.owned(items, owner),
        events_since=holding_items.events_since(items, owner),
    )
