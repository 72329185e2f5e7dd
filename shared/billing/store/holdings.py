"""Writes of what a customer holds: conditional on the owner, so none lands on an item a
newer customer of the id wrote, and every write of a customer's holdings requires, in its
transaction, the profile it was meant for (`profiles.required`). How the items look is
`store.holding_items`; changes too large for one transaction are `store.staged_changes`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from billing import numbers
from billing.domain.customers import Customer
from billing.domain.errors import BalanceExists, BillingError, BillingInProgress
from billing.domain.holdings import Grant, Holdings, Subscription
from billing.store import keys, profiles, records, writes
from billing.store.holding_items import OWNER, events_since_item, items_of, partition_items
from billing.store.profiles import pk_of, required
from billing.store.table import Item, table_name
from billing.store.writes import Write


def add(profile: Customer, held: Holdings, now_ms: int) -> None:
    """New grants or flags for a customer, if it still exists and is not moving; an id it
    holds already is refused (an item another owner left behind is simply replaced)."""
    puts = [
        put_new(item, profile.internal_id, on_condition_failed=BalanceExists)
        for item in items_of(pk_of(profile), profile.internal_id, held)
    ]
    writes.run([required(profile, now_ms), *puts])


def put_new(item: Item, owner: str, on_condition_failed: type[BillingError] | None = None) -> Write:
    """Writes a holding `owner` does not hold yet (an item another owner left behind is
    simply replaced)."""
    return Write(
        "Put",
        {
            "TableName": table_name(),
            "Item": item,
            "ConditionExpression": "attribute_not_exists(PK) OR #owner <> :owner",
            "ExpressionAttributeNames": {"#owner": OWNER},
            "ExpressionAttributeValues": {":owner": {"S": owner}},
        },
        on_condition_failed=on_condition_failed,
    )


def rewrite_owned(item: Item, owner: str) -> Write:
    """Rewrites a holding only while `owner` still holds it (423 otherwise: read again)."""
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


def delete_owned(item: Item, owner: str) -> Write:
    """Deletes a holding only while `owner` still holds it (a newer customer of the id may
    have written over it)."""
    return Write(
        "Delete",
        {
            "TableName": table_name(),
            "Key": {"PK": item["PK"], "SK": item["SK"]},
            "ConditionExpression": "#owner = :owner",
            "ExpressionAttributeNames": {"#owner": OWNER},
            "ExpressionAttributeValues": {":owner": {"S": owner}},
        },
    )


def replace_grant_fenced(
    fenced: Customer, lease_until: int, before: Grant, after: Grant, now_ms: int
) -> None:
    """Writes `after` over `before` while our fence (`profiles.start_fence`) holds the
    customer's holdings, and lifts the fence in the same transaction."""
    writes.run(
        [
            profiles.fence_lifted(fenced, lease_until, now_ms),
            replaced_grant(fenced, before, after),
        ]
    )


def replaced_grant(profile: Customer, before: Grant, after: Grant) -> Write:
    """The write of `after` over `before`, conditional on its usage and next reset as read."""
    item = items_of(pk_of(profile), profile.internal_id, Holdings(grants=(after,)))[0]
    condition = "#owner = :owner AND #usage = :usage AND " + (
        "#next = :next" if before.next_reset_at is not None else "attribute_not_exists(#next)"
    )
    values: dict[str, Any] = {
        ":usage": {"N": numbers.text(before.usage)},
        ":owner": {"S": profile.internal_id},
    }
    if before.next_reset_at is not None:
        values[":next"] = {"N": str(before.next_reset_at)}
    return Write(
        "Put",
        {
            "TableName": table_name(),
            "Item": item,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {
                "#usage": "usage",
                "#next": "next_reset_at",
                "#owner": OWNER,
            },
            "ExpressionAttributeValues": values,
        },
        on_condition_failed=BillingInProgress,
    )


def deleted_grant(profile: Customer, before: Grant) -> Write:
    """Deletes a grant only while its usage is as read: a use recorded since (on a plan
    being replaced) makes the caller read it again, so it is never dropped unseen."""
    return Write(
        "Delete",
        {
            "TableName": table_name(),
            "Key": {
                "PK": {"S": pk_of(profile)},
                "SK": {"S": keys.grant_sk(before.feature_id, before.id)},
            },
            "ConditionExpression": "#owner = :owner AND #usage = :usage",
            "ExpressionAttributeNames": {"#owner": OWNER, "#usage": "usage"},
            "ExpressionAttributeValues": {
                ":owner": {"S": profile.internal_id},
                ":usage": {"N": numbers.text(before.usage)},
            },
        },
        on_condition_failed=BillingInProgress,
    )


def replaced_subscription(profile: Customer, before: Subscription, after: Subscription) -> Write:
    """The write of a subscription's new state, if it is still as read (else
    BillingInProgress: read it again)."""
    item = items_of(pk_of(profile), profile.internal_id, Holdings(subscriptions=(after,)))[0]
    return Write(
        "Put",
        {
            "TableName": table_name(),
            "Item": item,
            "ConditionExpression": "#owner = :owner AND body = :before",
            "ExpressionAttributeNames": {"#owner": OWNER},
            "ExpressionAttributeValues": {
                ":owner": {"S": profile.internal_id},
                ":before": {"S": records.to_json(before)},
            },
        },
        on_condition_failed=BillingInProgress,
    )


def put_ahead(
    pk: str,
    owner: str,
    holdings: Holdings,
    events_since: str | None = None,
    between_chunks: Callable[[], None] | None = None,
) -> None:
    """Writes holdings before their profile exists (creation, a rename's copies): invisible
    until then, and written again as they are on a retry."""
    items = items_of(pk, owner, holdings)
    if events_since is not None:
        items.append(events_since_item(pk, owner, events_since))
    puts = [Write("Put", {"TableName": table_name(), "Item": item}) for item in items]
    writes.run_in_chunks(puts, between_chunks)


def remove_owned(pk: str, owner: str) -> None:
    """Deletes every item `owner` holds in the partition (as it stands now, so also what
    landed after it was read). Each delete requires the owner still, so an item a newer
    customer of this id wrote over stays."""
    deletes = [
        delete_owned(item, owner)
        for item in partition_items(pk)
        if item.get(OWNER, {}).get("S") == owner and item["SK"]["S"] != keys.PROFILE
    ]
    writes.run_in_chunks(deletes)
