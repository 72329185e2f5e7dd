"""How a customer's holdings (subscription, grant and flag items in its partition) are kept
as items, and read back.

Every holding item names its owner (the customer's internal id). Readers keep only the items
of the profile's owner, so holdings written ahead of their profile (a creation, a rename's
copies) stay invisible until the profile appears, and items left behind by a delete or a
rename are invisible at once, whoever takes the id next.

A change too large for one transaction (`store.staged_changes`) tags what it adds and what
it removes with its id; readers see the tagged items as they were until the change's reveal
marker appears in the partition, and as they are to be from then on.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from billing import numbers
from billing.domain.holdings import Flag, Grant, Holdings, Subscription
from billing.domain.terms import price_from, reset_from
from billing.store import keys, records
from billing.store.table import Item, client, table_name, translated_errors

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
