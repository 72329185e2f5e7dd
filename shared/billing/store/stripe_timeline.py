"""The order guard: how far each Stripe object's own timeline has been applied here.

Stripe delivers events late, twice and out of order. A handler re-reads the object and writes
what it found together with `advance(object id, position)` in one transaction: the position
is where that state sits on the object's timeline (the event's `created`, an invoice's status
rank, a period's start...). The guard's condition lets a write through only if nothing newer
was applied, so a late older event never rolls state back. `strictly=True` lets each position
through once (an effect that must happen once per period, such as closing it).

`STRIPE_OBJ#<object id>` / `TIMELINE`: `position` (a number), kept 400 days.
"""

from __future__ import annotations

from billing.domain.errors import BillingError
from billing.store import keys, writes
from billing.store.table import Item, client, table_name, translated_errors
from billing.store.writes import Write


class StaleStripeState(BillingError):
    """A newer state of the Stripe object was applied already: the write is dropped."""

    code = "stale_stripe_state"


# Well past any Stripe retry, and past a yearly period: an old event still finds its guard.
_TTL_S = 400 * 24 * 3600


def advance(object_id: str, position: int, now_ms: int, *, strictly: bool = False) -> Write:
    """The write that moves the object's timeline to `position`; its condition fails (raising
    StaleStripeState) when a later position (or, `strictly`, this one) was applied."""
    comparison = "<" if strictly else "<="
    return Write(
        "Update",
        {
            "TableName": table_name(),
            "Key": _key(object_id),
            "UpdateExpression": "SET #position = :position, entity = :entity, #ttl = :ttl",
            "ConditionExpression": (
                f"attribute_not_exists(#position) OR #position {comparison} :position"
            ),
            "ExpressionAttributeNames": {"#position": "position", "#ttl": "ttl"},
            "ExpressionAttributeValues": {
                ":position": {"N": str(position)},
                ":entity": {"S": "stripe_timeline"},
                ":ttl": {"N": str(now_ms // 1000 + _TTL_S)},
            },
        },
        on_condition_failed=StaleStripeState,
    )


def apply_in_order(
    object_id: str, position: int, effects: list[Write], now_ms: int, *, strictly: bool = False
) -> bool:
    """Writes `effects` with the guard in one transaction. False (and nothing written) when a
    newer state of the object was applied already."""
    try:
        writes.run([advance(object_id, position, now_ms, strictly=strictly), *effects])
    except StaleStripeState:
        return False
    return True


def position(object_id: str) -> int | None:
    """Where the object's timeline stands, None when nothing was applied yet."""
    with translated_errors():
        found = client().get_item(TableName=table_name(), Key=_key(object_id), ConsistentRead=True)
    item = found.get("Item")
    return None if item is None else int(item["position"]["N"])


def _key(object_id: str) -> Item:
    return {"PK": {"S": keys.stripe_timeline_pk(object_id)}, "SK": {"S": keys.STRIPE_TIMELINE_SK}}
