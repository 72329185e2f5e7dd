"""How far each Stripe object's own timeline has been applied here: one item per Stripe
object (`STRIPE_OBJ#<object id>` / `TIMELINE`), written in the same transaction as the state
it guards, so a write about the object goes through only if nothing newer was applied.

Stripe delivers events late, twice and out of order. The item orders writes in two ways,
chosen by what the writer knows:

- The position (`advance`, `apply_in_order`), when the event itself says where its state sits
  on the object's timeline (an invoice's creation and payment, a period's start...): the write
  goes through only if no later position was applied, so a late older event never rolls state
  back; `strictly=True` lets each position through once (an effect that must happen once per
  period, such as closing it). Used by services/billing/renewals.py.
- The mark (`mark`, `mark_raised`), when the writer re-reads the object from Stripe: a
  revision raised by every such write, and the creation time of the newest Stripe event
  applied. A writer reads the mark, then Stripe, and writes only if the revision is still the
  one it read: any write that landed first was based on an earlier read of Stripe, so what
  wins is never older than what it replaces (a loser reads again). An event older than one
  already applied is not applied at all (the newer one's re-read saw at least as much). Used
  by services/billing/subscription_sync.py.

A Stripe subscription has both (its invoices move the position, its sync raises the mark):
each write sets only its own attributes, so neither undoes the other. The item is kept 400
days past its last write.
"""

from __future__ import annotations

from typing import NamedTuple

from billing.domain.errors import BillingError, BillingInProgress
from billing.store import keys, writes
from billing.store.table import Item, client, table_name, translated_errors
from billing.store.writes import Write


class StaleStripeState(BillingError):
    """A newer state of the Stripe object was applied already: the write is dropped."""

    code = "stale_stripe_state"


class Mark(NamedTuple):
    revision: int = 0
    # Unix seconds of the newest Stripe event applied (0: none yet).
    event_created: int = 0


# Well past any Stripe retry, and past a yearly period: an old event still finds its guard.
# A mark that expired starts again at revision 0, which nothing remembers by then.
_TTL_S = 400 * 24 * 3600
_ENTITY = "stripe_timeline"


def advance(object_id: str, position: int, now_ms: int, *, strictly: bool = False) -> Write:
    """The write that moves the object's timeline to `position`; its condition fails (raising
    StaleStripeState) when a later position (or, `strictly`, this one) was applied."""
    comparison = "<" if strictly else "<="
    return _update(
        object_id,
        now_ms,
        "#position = :position",
        f"attribute_not_exists(#position) OR #position {comparison} :position",
        {"#position": "position"},
        {":position": {"N": str(position)}},
        StaleStripeState,
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
    """Where the object's timeline stands, None when no position was applied yet."""
    item = _read(object_id)
    return None if item is None or "position" not in item else int(item["position"]["N"])


def mark(object_id: str) -> Mark:
    """The object's mark as it stands (revision 0 when nothing raised it yet)."""
    item = _read(object_id)
    if item is None or "revision" not in item:
        return Mark()
    return Mark(int(item["revision"]["N"]), int(item["event_created"]["N"]))


def mark_raised(object_id: str, before: Mark, event_created: int | None, now_ms: int) -> Write:
    """The mark raised past `before` (to the newer of its event and `event_created`), if
    nobody raised it meanwhile (else BillingInProgress: read again and decide again)."""
    newest = max(before.event_created, event_created or 0)
    values: Item = {":next": {"N": str(before.revision + 1)}, ":newest": {"N": str(newest)}}
    if before.revision == 0:
        condition = "attribute_not_exists(#revision)"
    else:
        condition = "#revision = :revision"
        values[":revision"] = {"N": str(before.revision)}
    return _update(
        object_id,
        now_ms,
        "#revision = :next, #event_created = :newest",
        condition,
        {"#revision": "revision", "#event_created": "event_created"},
        values,
        BillingInProgress,
    )


def _update(
    object_id: str,
    now_ms: int,
    assignments: str,
    condition: str,
    names: dict[str, str],
    values: Item,
    on_condition_failed: type[BillingError],
) -> Write:
    return Write(
        "Update",
        {
            "TableName": table_name(),
            "Key": _key(object_id),
            "UpdateExpression": f"SET {assignments}, entity = :entity, #ttl = :ttl",
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {**names, "#ttl": "ttl"},
            "ExpressionAttributeValues": {
                **values,
                ":entity": {"S": _ENTITY},
                ":ttl": {"N": str(now_ms // 1000 + _TTL_S)},
            },
        },
        on_condition_failed=on_condition_failed,
    )


def _read(object_id: str) -> Item | None:
    with translated_errors():
        found = client().get_item(TableName=table_name(), Key=_key(object_id), ConsistentRead=True)
    return found.get("Item")


def _key(object_id: str) -> Item:
    return {"PK": {"S": keys.stripe_timeline_pk(object_id)}, "SK": {"S": keys.STRIPE_TIMELINE_SK}}
