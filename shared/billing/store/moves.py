"""A customer's rename, in steps (see `store.customers.move`): the profile is first marked
moving for a lease, and the new id reserved by a placeholder profile. While the lease runs,
every write of the customer's holdings is refused (`profiles.required`), so its copies are
exact; the lease outlasts any function, so a mover that crashed leaves a customer moving only
that long.
"""

from __future__ import annotations

from billing.domain.customers import Customer
from billing.domain.errors import BillingInProgress, CustomerExists
from billing.store import customer_guards, keys, writes
from billing.store.profiles import NOT_MOVING, pk_of, profile_item, profile_key
from billing.store.table import table_name, to_item, to_value
from billing.store.writes import Write

# Longer than any function runs (15 s; the worker 60 s, but it never moves customers).
MOVE_LEASE_MS = 20_000
# The switch needs this much lease left, so clocks a little apart never let a write of the
# old holdings and the switch both pass.
MOVE_MARGIN_MS = 2_000


def start_move(before: Customer, new_pk: str, now_ms: int) -> int:
    """Marks the customer moving (its holdings fenced) and reserves the new id, at once;
    returns the lease's end. The new id must be free, the record unchanged since read."""
    until = now_ms + MOVE_LEASE_MS
    writes.run(
        [
            Write(
                "Update",
                {
                    "TableName": table_name(),
                    "Key": profile_key(pk_of(before)),
                    "UpdateExpression": "SET #v = :next, #until = :until, moving_to = :to",
                    "ConditionExpression": f"#v = :v AND {NOT_MOVING}",
                    "ExpressionAttributeNames": {"#v": "version", "#until": "moving_until"},
                    "ExpressionAttributeValues": {
                        ":v": to_value(before.version),
                        ":next": to_value(before.version + 1),
                        ":until": to_value(until),
                        ":to": {"S": new_pk},
                        ":now": to_value(now_ms),
                    },
                },
                on_condition_failed=BillingInProgress,
            ),
            Write(
                "Put",
                {
                    "TableName": table_name(),
                    "Item": to_item(
                        {
                            "PK": new_pk,
                            "SK": keys.PROFILE,
                            "entity": "reservation",
                            "reserved_for": before.internal_id,
                            "reserved_until": until,
                        }
                    ),
                    "ConditionExpression": "attribute_not_exists(PK) OR reserved_until < :now",
                    "ExpressionAttributeValues": {":now": to_value(now_ms)},
                },
                on_condition_failed=CustomerExists,
            ),
        ]
    )
    return until


def renew_move(before: Customer, new_pk: str, lease_until: int, now_ms: int) -> int:
    """Extends a running move's lease (and its placeholder's) while it copies a large
    customer, so a live mover never runs out of it; returns the new end."""
    until = now_ms + MOVE_LEASE_MS
    ours = {":until": to_value(lease_until), ":next": to_value(until)}
    writes.run(
        [
            Write(
                "Update",
                {
                    "TableName": table_name(),
                    "Key": profile_key(pk_of(before)),
                    "UpdateExpression": "SET #until = :next",
                    "ConditionExpression": "#v = :v AND #until = :until AND #until > :safe",
                    "ExpressionAttributeNames": {"#v": "version", "#until": "moving_until"},
                    "ExpressionAttributeValues": {
                        **ours,
                        ":v": to_value(before.version + 1),
                        ":safe": to_value(now_ms + MOVE_MARGIN_MS),
                    },
                },
                on_condition_failed=BillingInProgress,
            ),
            Write(
                "Update",
                {
                    "TableName": table_name(),
                    "Key": profile_key(new_pk),
                    "UpdateExpression": "SET reserved_until = :next",
                    "ConditionExpression": "reserved_for = :iid AND reserved_until = :until",
                    "ExpressionAttributeValues": {**ours, ":iid": {"S": before.internal_id}},
                },
                on_condition_failed=BillingInProgress,
            ),
        ]
    )
    return until


def finish_move(before: Customer, moved: Customer, lease_until: int, now_ms: int) -> None:
    """The switch, one small transaction: the profile under its new id replaces the
    placeholder, the old one goes, the guards follow. Only while our lease runs."""
    old_pk, new_pk = pk_of(before), pk_of(moved)
    ops = [
        Write(
            "Put",
            {
                "TableName": table_name(),
                "Item": profile_item(moved),
                "ConditionExpression": "reserved_for = :iid",
                "ExpressionAttributeValues": {":iid": {"S": before.internal_id}},
            },
            on_condition_failed=BillingInProgress,
        ),
        Write(
            "Delete",
            {
                "TableName": table_name(),
                "Key": profile_key(old_pk),
                "ConditionExpression": "#v = :v AND #until = :until AND #until > :safe",
                "ExpressionAttributeNames": {"#v": "version", "#until": "moving_until"},
                "ExpressionAttributeValues": {
                    ":v": to_value(before.version + 1),
                    ":until": to_value(lease_until),
                    ":safe": to_value(now_ms + MOVE_MARGIN_MS),
                },
            },
            on_condition_failed=BillingInProgress,
        ),
    ]
    if before.id is None and before.email:
        ops.append(customer_guards.release_email(before))
    if before.stripe_id:
        ops.append(customer_guards.relink_stripe_customer(before.stripe_id, old_pk, new_pk))
    writes.run(ops)


def abandon_move(before: Customer, new_pk: str, lease_until: int) -> None:
    """Lifts our mark and placeholder after a move that could not finish (else they would
    simply run out with the lease). Either is left alone if it is no longer ours."""
    writes.run_in_chunks(
        [
            Write(
                "Delete",
                {
                    "TableName": table_name(),
                    "Key": profile_key(new_pk),
                    "ConditionExpression": "reserved_for = :iid AND reserved_until = :until",
                    "ExpressionAttributeValues": {
                        ":iid": {"S": before.internal_id},
                        ":until": to_value(lease_until),
                    },
                },
            ),
            Write(
                "Update",
                {
                    "TableName": table_name(),
                    "Key": profile_key(pk_of(before)),
                    "UpdateExpression": "REMOVE #until, moving_to",
                    "ConditionExpression": "#v = :v AND #until = :until",
                    "ExpressionAttributeNames": {"#v": "version", "#until": "moving_until"},
                    "ExpressionAttributeValues": {
                        ":v": to_value(before.version + 1),
                        ":until": to_value(lease_until),
                    },
                },
            ),
        ]
    )
