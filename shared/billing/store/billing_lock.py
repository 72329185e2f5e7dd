"""The per-customer billing lock: one billing change (attach, update) at a time.

A lease, not a lock held forever: the item names its holder and when the lease ends, so a
function that crashed while holding it blocks the customer only until then (and DynamoDB's
TTL removes the item later). Concurrent callers are refused (423) rather than queued: the
caller retries, and a retry of the same request then finds its work done.
"""

from __future__ import annotations

import contextlib

from billing.domain.errors import BillingInProgress
from billing.store import keys, writes
from billing.store.table import Item, table_name
from billing.store.writes import Write


def take(customer_id: str, holder: str, now_ms: int, lease_ms: int) -> None:
    """Takes the lock for `holder` (a request's own token); BillingInProgress if another
    holder's lease still runs."""
    until = now_ms + lease_ms
    writes.run(
        [
            Write(
                "Put",
                {
                    "TableName": table_name(),
                    "Item": {
                        **_key(customer_id),
                        "holder": {"S": holder},
                        "until": {"N": str(until)},
                        "ttl": {"N": str(until // 1000 + 3600)},
                    },
                    "ConditionExpression": "attribute_not_exists(PK) OR #until < :now",
                    "ExpressionAttributeNames": {"#until": "until"},
                    "ExpressionAttributeValues": {":now": {"N": str(now_ms)}},
                },
                on_condition_failed=BillingInProgress,
            )
        ]
    )


def release(customer_id: str, holder: str) -> None:
    """Gives the lock back, if it is still this holder's (a lease that ran out may have
    passed to another caller: that one keeps it)."""
    with contextlib.suppress(BillingInProgress):
        writes.run(
            [
                Write(
                    "Delete",
                    {
                        "TableName": table_name(),
                        "Key": _key(customer_id),
                        "ConditionExpression": "holder = :holder",
                        "ExpressionAttributeValues": {":holder": {"S": holder}},
                    },
                    on_condition_failed=BillingInProgress,
                )
            ]
        )


def _key(customer_id: str) -> Item:
    return {"PK": {"S": keys.billing_lock_pk(customer_id)}, "SK": {"S": keys.BILLING_LOCK_SK}}
