"""The writes that bring a customer's holdings in line with one of its Stripe subscriptions:
its subscriptions rewritten, prepaid grants regranted, holdings removed and added, together
with the caller's fence on the subscription's timeline (`store.stripe_timeline.mark_raised`),
so a write based on an older read of Stripe never lands.
"""

from __future__ import annotations

from collections.abc import Sequence

from billing import numbers
from billing.domain.customers import Customer
from billing.domain.errors import BillingInProgress
from billing.domain.holdings import Grant, Holdings, Subscription
from billing.store import writes
from billing.store.holding_items import OWNER, items_of
from billing.store.holdings import delete_owned, put_new, rewrite_owned
from billing.store.profiles import pk_of, required
from billing.store.staged_changes import change_in_stages
from billing.store.table import table_name
from billing.store.writes import Write

_NOTHING = Holdings()


def save(
    profile: Customer,
    *,
    changed: Sequence[Subscription] = (),
    regranted: Sequence[tuple[Grant, Grant]] = (),
    removed: Holdings = _NOTHING,
    added: Holdings = _NOTHING,
    also: Sequence[Write] = (),
    staged_as: str | None = None,
    now_ms: int,
) -> None:
    """In one transaction, fenced on the live profile as read: subscriptions rewritten
    (while still held), grants rewritten (if their usage is as read), holdings removed and
    added, and `also` (the subscription's mark raised, a plan version marked in use).
    Holdings removed and added that do not fit in one transaction are written in stages
    under the change id `staged_as`; the rewrites and `also` join the small transaction
    that shows them, so the change still lands whole or not at all."""
    both = {s.id for s in changed} & {s.id for s in removed.subscriptions}
    both |= {after.id for _before, after in regranted} & {g.id for g in removed.grants}
    if both:
        # One item cannot be both rewritten and removed in a change (a transaction refuses
        # it; staged, the rewrite would silently undo the removal's tag).
        raise ValueError(f"holdings both rewritten and removed: {sorted(both)}")
    pk, owner = pk_of(profile), profile.internal_id
    subscriptions = Holdings(subscriptions=tuple(changed))
    rewrites = [rewrite_owned(item, owner) for item in items_of(pk, owner, subscriptions)]
    regrants = [_regrant(pk, owner, before, after) for before, after in regranted]
    deletes = [delete_owned(item, owner) for item in items_of(pk, owner, removed)]
    puts = [put_new(item, owner) for item in items_of(pk, owner, added)]
    whole = [required(profile, now_ms), *rewrites, *regrants, *deletes, *puts, *also]
    if len(whole) <= writes.TRANSACTION_ITEMS or staged_as is None:
        writes.run(whole)
    else:
        # A plan of many items expiring into another: written in stages, shown at once.
        shown_with = [*rewrites, *regrants, *also]
        change_in_stages(profile, staged_as, added, removed, shown_with, now_ms)


def _regrant(pk: str, owner: str, before: Grant, after: Grant) -> Write:
    (item,) = items_of(pk, owner, Holdings(grants=(after,)))
    return Write(
        "Put",
        {
            "TableName": table_name(),
            "Item": item,
            "ConditionExpression": "#owner = :owner AND #usage = :usage",
            "ExpressionAttributeNames": {"#owner": OWNER, "#usage": "usage"},
            "ExpressionAttributeValues": {
                ":owner": {"S": owner},
                ":usage": {"N": numbers.text(before.usage)},
            },
        },
        on_condition_failed=BillingInProgress,
    )
