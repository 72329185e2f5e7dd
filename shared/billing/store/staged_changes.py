"""Changes of a customer's holdings too many for one transaction, never half-visible: what is
added is written hidden and what is removed is tagged, in chunks, and one small transaction
reveals them all at once (`store.holding_items` reads the tags). `exchange` writes a change
in one transaction when it fits in one, else in stages.
"""

from __future__ import annotations

import secrets
from typing import Any

from billing.domain.customers import Customer
from billing.domain.errors import BillingError
from billing.domain.holdings import Holdings
from billing.observability import logger
from billing.store import keys, profiles, writes
from billing.store.holding_items import ADDED_BY, OWNER, REMOVED_BY, items_of, partition_items
from billing.store.holdings import delete_owned, put_new
from billing.store.profiles import pk_of, required
from billing.store.table import Item, table_name
from billing.store.writes import Write


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
