"""Our copy of each Stripe subscription's state: where it stands on the subscription's own
timeline, and the writes that bring a customer's holdings in line with it.

The mark (`STRIPE_SUB#<id>`) holds a revision, raised by every write of the subscription's
state, and the creation time of the newest Stripe event applied. A writer reads the mark,
then Stripe, and writes only if the revision is still the one it read: any write that landed
first was based on an earlier read of Stripe, so what wins is never older than what it
replaces (a loser reads again). An event older than one already applied is not applied at
all (the newer one's re-read saw at least as much).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from billing import numbers
from billing.domain.customers import Customer
from billing.domain.errors import BillingInProgress
from billing.domain.holdings import Grant, Holdings, Subscription
from billing.store import keys, writes
from billing.store.holdings import OWNER, change_in_stages, delete_owned, items_of, put_new
from billing.store.profiles import pk_of, required
from billing.store.table import Item, client, table_name, translated_errors
from billing.store.writes import Write

_SK = "SYNC"
_NOTHING = Holdings()


class Mark(NamedTuple):
    revision: int = 0
    # Unix seconds of the newest Stripe event applied (0: none yet).
    event_created: int = 0


def mark(stripe_subscription_id: str) -> Mark:
    with translated_errors():
        found = client().get_item(
            TableName=table_name(), Key=_key(stripe_subscription_id), ConsistentRead=True
        )
    item = found.get("Item")
    if item is None:
        return Mark()
    return Mark(int(item["revision"]["N"]), int(item["event_created"]["N"]))


def advanced(stripe_subscription_id: str, before: Mark, event_created: int | None) -> Write:
    """The mark raised past `before`, if nobody raised it meanwhile (else BillingInProgress:
    read again and decide again)."""
    newest = max(before.event_created, event_created or 0)
    condition: dict[str, object]
    if before.revision == 0:
        condition = {"ConditionExpression": "attribute_not_exists(PK)"}
    else:
        condition = {
            "ConditionExpression": "revision = :revision",
            "ExpressionAttributeValues": {":revision": {"N": str(before.revision)}},
        }
    return Write(
        "Put",
        {
            "TableName": table_name(),
            "Item": {
                **_key(stripe_subscription_id),
                "entity": {"S": "stripe_subscription_mark"},
                "revision": {"N": str(before.revision + 1)},
                "event_created": {"N": str(newest)},
            },
            **condition,
        },
        on_condition_failed=BillingInProgress,
    )


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
    added, and `also` (the mark, a plan version marked in use). Holdings removed and added
    that do not fit in one transaction are written in stages under the change id
    `staged_as` (shown at once, as a large grant is)."""
    pk, owner = pk_of(profile), profile.internal_id
    subscriptions = Holdings(subscriptions=tuple(changed))
    rewrites = [_rewrite(item, owner) for item in items_of(pk, owner, subscriptions)]
    regrants = [_regrant(pk, owner, before, after) for before, after in regranted]
    deletes = [delete_owned(item, owner) for item in items_of(pk, owner, removed)]
    puts = [put_new(item, owner) for item in items_of(pk, owner, added)]
    whole = [required(profile, now_ms), *rewrites, *regrants, *deletes, *puts, *also]
    if len(whole) <= writes.TRANSACTION_ITEMS or staged_as is None:
        writes.run(whole)
    else:
        # A plan of many items expiring into another: written in stages, shown at once.
        change_in_stages(profile, staged_as, added, removed, list(also), now_ms)


def _rewrite(item: Item, owner: str) -> Write:
    return Write(
        "Put",
        {
            "TableName": table_name(),
            "Item": item,
            "ConditionExpression": "#owner = :owner",
            "ExpressionAttributeNames": {"#owner": OWNER},
            "ExpressionAttributeValues": {":owner": {"S": owner}},
        },
        on_condition_failed=BillingInProgress,
    )


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


def _key(stripe_subscription_id: str) -> Item:
    return {"PK": {"S": keys.stripe_subscription_pk(stripe_subscription_id)}, "SK": {"S": _SK}}
