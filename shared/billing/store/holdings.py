"""What a customer holds: subscription, grant and flag items in its partition.

Every holding item names its owner (the customer's internal id). Readers keep only the items
of the profile's owner, so holdings written ahead of their profile (a creation, a rename's
copies) stay invisible until the profile appears, and items left behind by a delete or a
rename are invisible at once, whoever takes the id next. Every write of a customer's
holdings requires, in its transaction, the profile it was meant for (`profiles.required`).

A change too large for one transaction (`change_in_stages`) tags what it adds and what it
removes with its id; readers see the tagged items as they were until the change's reveal
marker appears in the partition, and as they are to be from then on.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from billing import numbers
from billing.domain.customers import Customer
from billing.domain.errors import BalanceExists, BillingError, BillingInProgress
from billing.domain.holdings import Flag, Grant, Holdings, Subscription
from billing.domain.terms import price_from, reset_from
from billing.observability import logger
from billing.store import keys, profiles, records, writes
from billing.store.profiles import pk_of, required
from billing.store.table import Item, client, table_name, translated_errors
from billing.store.writes import Write

OWNER = "owner"
# Tags of a change written in stages: the item arrives, or leaves, when the change is revealed.
ADDED_BY = "added_by"
REMOVED_BY = "removed_by"


def items_of(pk: str, owner: str, holdings: Holdings) -> list[Item]:
    items: list[Item] = []
    for sub in holdings.subscriptions:
        sk = keys.subscription_sk(sub.plan_id, sub.id)
        items.append(_body_item(pk, sk, owner, records.to_json(sub)))
    for grant in holdings.grants:
        item = _body_item(
            pk, keys.grant_sk(grant.feature_id, grant.id), owner, records.to_json(grant)
        )
        # Usage and the next reset are attributes of their own: deductions and resets are
        # conditional updates of them alone.
        item["usage"] = {"N": numbers.text(grant.usage)}
        if grant.next_reset_at is not None:
            item["next_reset_at"] = {"N": str(grant.next_reset_at)}
        items.append(_held_feature(item, grant.feature_id))
    for flag in holdings.flags:
        item = _body_item(pk, keys.flag_sk(flag.feature_id, flag.id), owner, records.to_json(flag))
        items.append(_held_feature(item, flag.feature_id))
    return items


def owned(items: list[Item], owner: str) -> Holdings:
    """The holdings among a partition's items that belong to `owner`."""
    subscriptions: list[Subscription] = []
    grants: list[Grant] = []
    flags: list[Flag] = []
    revealed = _revealed_changes(items, owner)
    for item in items:
        sk, body = item["SK"]["S"], item.get("body", {}).get("S")
        if body is None or item.get(OWNER, {}).get("S") != owner:
            continue
        if not _visible(item, revealed):
            continue
        if sk.startswith(keys.SUBSCRIPTION):
            subscriptions.append(_subscription(json.loads(body)))
        elif sk.startswith(keys.GRANT):
            grants.append(grant_from_item(item))
        elif sk.startswith(keys.FLAG):
            flags.append(Flag(**records.known(Flag, json.loads(body))))
    subscriptions.sort(key=lambda sub: sub.started_at)
    grants.sort(key=lambda grant: grant.anchor_at)
    return Holdings(subscriptions=tuple(subscriptions), grants=tuple(grants), flags=tuple(flags))


def _revealed_changes(items: list[Item], owner: str) -> set[str]:
    return {
        item["change_id"]["S"]
        for item in items
        if item["SK"]["S"].startswith(keys.REVEALED) and item.get(OWNER, {}).get("S") == owner
    }


def _visible(item: Item, revealed: set[str]) -> bool:
    added_by = item.get(ADDED_BY, {}).get("S")
    removed_by = item.get(REMOVED_BY, {}).get("SS", ())
    return (added_by is None or added_by in revealed) and not revealed.intersection(removed_by)


def events_since(items: list[Item], owner: str) -> str | None:
    """The earliest month of `owner`'s usage events, as its partition records it."""
    return next(
        (
            item["since"]["S"]
            for item in items
            if item["SK"]["S"] == keys.EVENTS_SINCE and item.get(OWNER, {}).get("S") == owner
        ),
        None,
    )


def events_since_item(pk: str, owner: str, month: str) -> Item:
    return {
        "PK": {"S": pk},
        "SK": {"S": keys.EVENTS_SINCE},
        OWNER: {"S": owner},
        "since": {"S": month},
    }


def grant_from_item(item: Item | dict[str, Any]) -> Grant:
    body = records.known(Grant, json.loads(item["body"]["S"]))
    reset = item.get("next_reset_at")
    return Grant(
        **{
            **body,
            "included": Decimal(body["included"]),
            "prepaid": Decimal(body.get("prepaid", 0)),
            "reset": None if body.get("reset") is None else reset_from(body["reset"]),
            "price": None if body.get("price") is None else price_from(body["price"]),
            # Usage and the next reset live in attributes of their own (see `items_of`).
            "usage": Decimal(item["usage"]["N"]),
            "next_reset_at": int(reset["N"]) if reset else None,
        }
    )


def _subscription(body: dict[str, Any]) -> Subscription:
    known = records.known(Subscription, body)
    return Subscription(
        **{
            **known,
            "quantity": Decimal(known.get("quantity", 1)),
            # Stored as a JSON list.
            "stripe_item_ids": tuple(known.get("stripe_item_ids", ())),
        }
    )


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


def partition_items(pk: str) -> list[Item]:
    """Every item of a partition, consistently read, page after page."""
    dynamodb, items = client(), []
    params: dict[str, Any] = {
        "TableName": table_name(),
        "KeyConditionExpression": "PK = :pk",
        "ExpressionAttributeValues": {":pk": {"S": pk}},
        "ConsistentRead": True,
    }
    while True:
        with translated_errors():
            response = dynamodb.query(**params)
        items.extend(response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            return items
        params["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def _body_item(pk: str, sk: str, owner: str, body: str) -> Item:
    return {"PK": {"S": pk}, "SK": {"S": sk}, OWNER: {"S": owner}, "body": {"S": body}}


def _held_feature(item: Item, feature_id: str) -> Item:
    # Index GSI2 (keys only): which customers hold this feature.
    item["GSI2PK"] = {"S": keys.feature_holder_pk(feature_id)}
    item["GSI2SK"] = item["PK"]
    return item


def change_in_stages(
    profile: Customer,
    change_id: str,
    added: Holdings,
    removed: Holdings,
    reveal_with: list[Write],
    now_ms: int,
) -> None:
    """Changes holdings too many for one transaction, with no step half-visible: what is
    added is written hidden and what is removed is tagged, in chunks; then one small
    transaction bumps the profile's version (so a use that read the old holdings cannot
    land on a removed grant), writes the change's reveal marker, and joins `reveal_with`
    (the caller's own fence, e.g. a purchase marked granted).

    Each attempt stages under an id of its own, so attempts racing for one change (a
    webhook and the call that charged the card) never touch each other's items: one
    reveals, the others' reveals fail and they withdraw what they staged. What a crashed
    attempt staged is never shown and goes with the customer's next rename or deletion."""
    if len(reveal_with) + 2 > writes.TRANSACTION_ITEMS:
        # Refused before anything is staged: the reveal would fail only after the staging.
        raise ValueError(
            f"a staged change's reveal takes at most {writes.TRANSACTION_ITEMS - 2} writes "
            f"beside its own two, not {len(reveal_with)}"
        )
    pk, owner = pk_of(profile), profile.internal_id
    attempt = f"{change_id}.{secrets.token_hex(4)}"
    hidden = [
        put_new({**item, ADDED_BY: {"S": attempt}}, owner) for item in items_of(pk, owner, added)
    ]
    leaving = [_tagged(item, attempt, owner) for item in items_of(pk, owner, removed)]
    writes.run_in_chunks(hidden + leaving)
    marker = {
        "PK": {"S": pk},
        "SK": {"S": keys.revealed_sk(attempt)},
        OWNER: {"S": owner},
        "change_id": {"S": attempt},
    }
    try:
        writes.run(
            [
                profiles.version_bumped(profile, now_ms),
                Write("Put", {"TableName": table_name(), "Item": marker}),
                *reveal_with,
            ]
        )
    except BillingError:
        _tidy(pk, owner, attempt, revealed=False)
        raise
    _tidy(pk, owner, attempt, revealed=True)


def _tidy(pk: str, owner: str, attempt: str, revealed: bool) -> None:
    """After the reveal: the removed items deleted and the tags dropped, then the marker.
    After a failed reveal: what the attempt staged withdrawn. Readers see the same holdings
    at every step, so a tidy cut short is harmless."""
    ops: list[Write] = []
    for item in partition_items(pk):
        if attempt in item.get(REMOVED_BY, {}).get("SS", []):
            ops.append(delete_owned(item, owner) if revealed else _untagged(item, attempt, owner))
        elif item.get(ADDED_BY, {}).get("S") == attempt:
            ops.append(_not_added_by(item, owner) if revealed else delete_owned(item, owner))
    try:
        writes.run_in_chunks(ops)
        if revealed:
            marker: Item = {"PK": {"S": pk}, "SK": {"S": keys.revealed_sk(attempt)}}
            writes.run([delete_owned(marker, owner)])
    except BillingError:
        logger.warning("staged change left untidy", extra={"change": attempt})


def _tagged(item: Item, attempt: str, owner: str) -> Write:
    """Tags a holding as removed by `attempt` (beside any racing attempt's tag)."""
    return _retag(item, owner, "ADD #tag :attempt", REMOVED_BY, attempt)


def _untagged(item: Item, attempt: str, owner: str) -> Write:
    return _retag(item, owner, "DELETE #tag :attempt", REMOVED_BY, attempt)


def _not_added_by(item: Item, owner: str) -> Write:
    return _retag(item, owner, "REMOVE #tag", ADDED_BY, None)


def _retag(item: Item, owner: str, update: str, tag: str, attempt: str | None) -> Write:
    """One change of a staging tag on a holding `owner` still holds."""
    values: dict[str, Any] = {":owner": {"S": owner}}
    if attempt is not None:
        values[":attempt"] = {"SS": [attempt]}
    return Write(
        "Update",
        {
            "TableName": table_name(),
            "Key": {"PK": item["PK"], "SK": item["SK"]},
            "UpdateExpression": update,
            "ConditionExpression": "#owner = :owner",
            "ExpressionAttributeNames": {"#tag": tag, "#owner": OWNER},
            "ExpressionAttributeValues": values,
        },
    )


def exchange(
    profile: Customer,
    change_id: str,
    added: Holdings,
    removed: Holdings,
    also: list[Write],
    now_ms: int,
) -> None:
    """At once, fenced on the profile as read: `added` written, `removed` (still owned)
    deleted, and `also` (a plan version marked in use); one transaction when it fits in one,
    else in stages under `change_id` (`change_in_stages`)."""
    pk, owner = pk_of(profile), profile.internal_id
    puts = [put_new(item, owner) for item in items_of(pk, owner, added)]
    deletes = [delete_owned(item, owner) for item in items_of(pk, owner, removed)]
    whole = [required(profile, now_ms), *puts, *deletes, *also]
    if len(whole) <= writes.TRANSACTION_ITEMS:
        writes.run(whole)
    else:
        change_in_stages(profile, change_id, added, removed, also, now_ms)
