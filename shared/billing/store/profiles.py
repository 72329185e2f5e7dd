"""Customer profiles: the profile item, its writes, and the fences that keep holdings writes
to a live customer that is not moving.

Its uniqueness guards (email, Stripe customer) are in `store.customer_guards`, the rename's
lease in `store.moves`, the listing of customers in `store.customer_index`.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from billing.domain.customers import Customer, CustomerConfig, normalized_email
from billing.domain.errors import BillingError, BillingInProgress, CustomerExists
from billing.store import customer_guards, keys, writes
from billing.store.table import Item, from_item, table_name, to_item, to_value
from billing.store.writes import Write

_PROFILE_FIELDS = (
    "internal_id",
    "name",
    "email",
    "fingerprint",
    "stripe_id",
    "send_email_receipts",
    "config",
    "created_at",
    "version",
)

_CONFIG_FIELDS = frozenset(CustomerConfig._fields)

# A profile's lease (a move's or a fence's) runs out at `moving_until`: while it runs, every
# write of the customer's holdings is refused (`required`).
NOT_MOVING = "(attribute_not_exists(#until) OR #until < :now)"

# A change of a balance by hand fences the customer's holdings (the same mark as a move)
# for this long at most: concurrent tracks wait it out, and a writer that died blocks them
# only this long. Its own write needs FENCE_MARGIN_MS of it left, as a move's switch does.
FENCE_LEASE_MS = 5_000
FENCE_MARGIN_MS = 1_000


def pk_of(customer: Customer) -> str:
    return keys.customer_pk(customer.id, customer.internal_id)


def pk_of_id(customer_id: str) -> str:
    return keys.customer_pk(customer_id, "")


def is_profile(item: Item) -> bool:
    """A customer's profile, not the placeholder of an id a rename is taking."""
    return item["SK"]["S"] == keys.PROFILE and "reserved_for" not in item


def customer_from(item: Item) -> Customer:
    values = from_item(item)
    config = values.get("config") or {}
    return Customer(
        internal_id=values["internal_id"],
        id=values.get("customer_id"),
        created_at=int(values["created_at"]),
        metadata=json.loads(values.get("metadata_json", "{}")),
        name=values.get("name"),
        email=values.get("email"),
        fingerprint=values.get("fingerprint"),
        stripe_id=values.get("stripe_id"),
        send_email_receipts=bool(values.get("send_email_receipts", False)),
        config=CustomerConfig(**{k: bool(v) for k, v in config.items() if k in _CONFIG_FIELDS}),
        version=int(values.get("version", 1)),
    )


def required(customer: Customer, now_ms: int) -> Write:
    """The condition every write of the customer's holdings carries: this very customer (a
    customer re-created under the id has a new internal id), as read (a change of its
    holdings in stages bumps the version when it shows), exists and is not moving."""
    return Write(
        "ConditionCheck", _as_read(customer, now_ms), on_condition_failed=BillingInProgress
    )


def version_bumped(customer: Customer, now_ms: int) -> Write:
    """The profile's version moved on, if it is still as read: whoever read the customer
    before must read it again before writing its holdings."""
    params = _as_read(customer, now_ms)
    params["UpdateExpression"] = "SET #v = :next"
    params["ExpressionAttributeValues"][":next"] = to_value(customer.version + 1)
    return Write("Update", params, on_condition_failed=BillingInProgress)


def _as_read(customer: Customer, now_ms: int) -> dict[str, Any]:
    return {
        "TableName": table_name(),
        "Key": profile_key(pk_of(customer)),
        "ConditionExpression": f"internal_id = :iid AND #v = :v AND {NOT_MOVING}",
        "ExpressionAttributeNames": {"#until": "moving_until", "#v": "version"},
        "ExpressionAttributeValues": {
            ":iid": {"S": customer.internal_id},
            ":v": to_value(customer.version),
            ":now": to_value(now_ms),
        },
    }


def created(customer: Customer, now_ms: int) -> list[Write]:
    """The profile and the guards a new customer takes, exclusively: its id (or a rename's
    placeholder whose lease ran out), its Stripe customer and (id-less) its email."""
    ops = [
        Write(
            "Put",
            {
                "TableName": table_name(),
                "Item": profile_item(customer),
                "ConditionExpression": "attribute_not_exists(PK) OR reserved_until < :now",
                "ExpressionAttributeValues": {":now": to_value(now_ms)},
            },
            on_condition_failed=CustomerExists,
        )
    ]
    if customer.id is None and customer.email:
        ops.append(customer_guards.claim_email(customer))
    if customer.stripe_id:
        ops.append(customer_guards.claim_stripe_customer(customer.stripe_id, pk_of(customer)))
    return ops


def save(before: Customer, after: Customer, now_ms: int) -> Customer:
    """Writes `after` over `before` if nobody changed it meanwhile (optimistic locking).

    Also keeps the Stripe guard in step when the linked Stripe customer changes.
    Raises BillingInProgress when the record moved on: reload and decide again.
    """
    saved = after._replace(version=before.version + 1)
    ops = [
        Write(
            "Put",
            {
                "TableName": table_name(),
                "Item": profile_item(saved),
                "ConditionExpression": f"#v = :v AND {NOT_MOVING}",
                "ExpressionAttributeNames": {"#v": "version", "#until": "moving_until"},
                "ExpressionAttributeValues": {
                    ":v": to_value(before.version),
                    ":now": to_value(now_ms),
                },
            },
        )
    ]
    if saved.stripe_id != before.stripe_id:
        if saved.stripe_id:
            ops.append(customer_guards.claim_stripe_customer(saved.stripe_id, pk_of(saved)))
        if before.stripe_id:
            ops.append(customer_guards.release_stripe_customer(before.stripe_id, pk_of(before)))
    if saved.id is None and _email_key(saved) != _email_key(before):
        # An id-less customer is found (and claimed) by its email: the guard moves with it,
        # or a claim by the old email would find a customer that no longer has it.
        if before.email:
            ops.append(customer_guards.release_email(before))
        if saved.email:
            ops.append(customer_guards.claim_email(saved))
    writes.run(ops)
    return saved


def _email_key(customer: Customer) -> str | None:
    return normalized_email(customer.email) if customer.email else None


def deleted(customer: Customer, now_ms: int) -> list[Write]:
    """The profile and the guards of a customer going away: one small transaction."""
    pk = pk_of(customer)
    ops = [
        Write(
            "Delete",
            {
                "TableName": table_name(),
                "Key": profile_key(pk),
                "ConditionExpression": f"#v = :v AND {NOT_MOVING}",
                "ExpressionAttributeNames": {"#v": "version", "#until": "moving_until"},
                "ExpressionAttributeValues": {
                    ":v": to_value(customer.version),
                    ":now": to_value(now_ms),
                },
            },
            on_condition_failed=BillingInProgress,
        )
    ]
    if customer.id is None and customer.email:
        ops.append(customer_guards.release_email(customer))
    if customer.stripe_id:
        ops.append(customer_guards.release_stripe_customer(customer.stripe_id, pk))
    return ops


def start_fence(customer: Customer, now_ms: int) -> int:
    """Fences every write of the customer's holdings (`required` refuses them, as during a
    move), if its profile is as read; returns the lease's end. The holder then reads the
    holdings again, and writes them with `fence_lifted`, knowing nobody else can."""
    until = now_ms + FENCE_LEASE_MS
    writes.run(
        [
            Write(
                "Update",
                {
                    "TableName": table_name(),
                    "Key": profile_key(pk_of(customer)),
                    "UpdateExpression": "SET #v = :next, #until = :until",
                    "ConditionExpression": f"internal_id = :iid AND #v = :v AND {NOT_MOVING}",
                    "ExpressionAttributeNames": {"#v": "version", "#until": "moving_until"},
                    "ExpressionAttributeValues": {
                        ":iid": {"S": customer.internal_id},
                        ":v": to_value(customer.version),
                        ":next": to_value(customer.version + 1),
                        ":until": to_value(until),
                        ":now": to_value(now_ms),
                    },
                },
                on_condition_failed=BillingInProgress,
            )
        ]
    )
    return until


def fence_lifted(fenced: Customer, lease_until: int, now_ms: int) -> Write:
    """The fence holder's write of the profile, joined to its holdings write: only while its
    lease still runs with a margin; the version moves on, so whoever read the holdings
    before the change reads them again."""
    return Write(
        "Update",
        {
            "TableName": table_name(),
            "Key": profile_key(pk_of(fenced)),
            "UpdateExpression": "SET #v = :next REMOVE #until",
            "ConditionExpression": (
                "internal_id = :iid AND #v = :v AND #until = :until AND #until > :safe"
            ),
            "ExpressionAttributeNames": {"#v": "version", "#until": "moving_until"},
            "ExpressionAttributeValues": {
                ":iid": {"S": fenced.internal_id},
                ":v": to_value(fenced.version),
                ":next": to_value(fenced.version + 1),
                ":until": to_value(lease_until),
                ":safe": to_value(now_ms + FENCE_MARGIN_MS),
            },
        },
        on_condition_failed=BillingInProgress,
    )


def lift_fence(fenced: Customer, lease_until: int) -> None:
    """Lifts our fence after a change that could not be written (else it would simply run
    out with the lease); left alone if it is no longer ours."""
    # Best effort: a failure here must not hide why the change failed.
    with contextlib.suppress(BillingError):
        writes.run(
            [
                Write(
                    "Update",
                    {
                        "TableName": table_name(),
                        "Key": profile_key(pk_of(fenced)),
                        "UpdateExpression": "REMOVE #until",
                        "ConditionExpression": "#v = :v AND #until = :until",
                        "ExpressionAttributeNames": {"#v": "version", "#until": "moving_until"},
                        "ExpressionAttributeValues": {
                            ":v": to_value(fenced.version),
                            ":until": to_value(lease_until),
                        },
                    },
                    on_condition_failed=BillingInProgress,
                )
            ]
        )


def profile_item(customer: Customer) -> Item:
    pk = pk_of(customer)
    values = {name: getattr(customer, name) for name in _PROFILE_FIELDS}
    values["config"] = customer.config._asdict()
    return to_item(
        {
            "PK": pk,
            "SK": keys.PROFILE,
            "entity": "customer",
            "customer_id": customer.id,
            **values,
            # Caller-defined JSON is kept as text: any number, any depth, exactly as sent.
            "metadata_json": json.dumps(customer.metadata, separators=(",", ":")),
            "GSI1PK": keys.CUSTOMERS_INDEX_PK,
            "GSI1SK": keys.customers_index_sk(customer.created_at, customer.internal_id),
            "search_text": _search_text(customer),
        }
    )


def _search_text(customer: Customer) -> str:
    return "\n".join(v for v in (customer.id, customer.name, customer.email) if v).lower()


def profile_key(pk: str) -> Item:
    return {"PK": {"S": pk}, "SK": {"S": keys.PROFILE}}
