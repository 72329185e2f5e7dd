"""Customer profiles: the profile item, its uniqueness guards (email, Stripe customer), the
index that lists customers, and the fences that keep holdings writes to a live customer.

A rename runs in steps (see `store.customers.move`): the profile is first marked moving
for a lease, and the new id reserved by a placeholder profile. While the lease runs, every
write of the customer's holdings is refused (`required`), so its copies are exact; the lease
outlasts any function, so a mover that crashed leaves a customer moving only that long.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from botocore.exceptions import ClientError

from billing.domain.customers import (
    MAX_CREATED_AT,
    Customer,
    CustomerConfig,
    PageQuery,
    normalized_email,
)
from billing.domain.errors import (
    BillingError,
    BillingInProgress,
    CustomerExists,
    StripeCustomerTaken,
    UnclaimedEmailTaken,
)
from billing.store import cursors, keys, writes
from billing.store.table import (
    Item,
    client,
    error_code,
    from_item,
    table_name,
    to_item,
    to_value,
    translated_errors,
)
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

# Longer than any function runs (15 s; the worker 60 s, but it never moves customers).
MOVE_LEASE_MS = 20_000
# The switch needs this much lease left, so clocks a little apart never let a write of the
# old holdings and the switch both pass.
MOVE_MARGIN_MS = 2_000

_NOT_MOVING = "(attribute_not_exists(#until) OR #until < :now)"

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
        "Key": _key(pk_of(customer), keys.PROFILE),
        "ConditionExpression": f"internal_id = :iid AND #v = :v AND {_NOT_MOVING}",
        "ExpressionAttributeNames": {"#until": "moving_until", "#v": "version"},
        "ExpressionAttributeValues": {
            ":iid": {"S": customer.internal_id},
            ":v": to_value(customer.version),
            ":now": to_value(now_ms),
        },
    }


def load_unclaimed_pk(email: str) -> str | None:
    """The partition of the id-less customer holding this email, if any."""
    with translated_errors():
        guard = (
            client()
            .get_item(
                TableName=table_name(),
                Key=_key(keys.email_guard_pk(normalized_email(email)), "ANON"),
                ConsistentRead=True,
            )
            .get("Item")
        )
    if guard is None:
        return None
    return keys.customer_pk(None, from_item(guard)["internal_id"])


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
        ops.append(_claim_email(customer))
    if customer.stripe_id:
        ops.append(_claim_stripe_customer(customer.stripe_id, pk_of(customer)))
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
                "ConditionExpression": f"#v = :v AND {_NOT_MOVING}",
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
            ops.append(_claim_stripe_customer(saved.stripe_id, pk_of(saved)))
        if before.stripe_id:
            ops.append(_release_stripe_customer(before.stripe_id, pk_of(before)))
    if saved.id is None and _email_key(saved) != _email_key(before):
        # An id-less customer is found (and claimed) by its email: the guard moves with it,
        # or a claim by the old email would find a customer that no longer has it.
        if before.email:
            ops.append(_release_email(before))
        if saved.email:
            ops.append(_claim_email(saved))
    writes.run(ops)
    return saved


def _email_key(customer: Customer) -> str | None:
    return normalized_email(customer.email) if customer.email else None


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
                    "Key": _key(pk_of(before), keys.PROFILE),
                    "UpdateExpression": "SET #v = :next, #until = :until, moving_to = :to",
                    "ConditionExpression": f"#v = :v AND {_NOT_MOVING}",
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
                    "Key": _key(pk_of(before), keys.PROFILE),
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
                    "Key": _key(new_pk, keys.PROFILE),
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
                "Key": _key(old_pk, keys.PROFILE),
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
        ops.append(_release_email(before))
    if before.stripe_id:
        ops.append(_relink_stripe_customer(before.stripe_id, old_pk, new_pk))
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
                    "Key": _key(new_pk, keys.PROFILE),
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
                    "Key": _key(pk_of(before), keys.PROFILE),
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
                    "Key": _key(pk_of(customer), keys.PROFILE),
                    "UpdateExpression": "SET #v = :next, #until = :until",
                    "ConditionExpression": f"internal_id = :iid AND #v = :v AND {_NOT_MOVING}",
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
            "Key": _key(pk_of(fenced), keys.PROFILE),
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
                        "Key": _key(pk_of(fenced), keys.PROFILE),
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


def deleted(customer: Customer, now_ms: int) -> list[Write]:
    """The profile and the guards of a customer going away: one small transaction."""
    pk = pk_of(customer)
    ops = [
        Write(
            "Delete",
            {
                "TableName": table_name(),
                "Key": _key(pk, keys.PROFILE),
                "ConditionExpression": f"#v = :v AND {_NOT_MOVING}",
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
        ops.append(_release_email(customer))
    if customer.stripe_id:
        ops.append(_release_stripe_customer(customer.stripe_id, pk))
    return ops


# A selective filter may need several reads to fill a page (each up to 1 MB of the index);
# past this many, a shorter page goes back with its cursor rather than keep the caller waiting.
_MAX_READS_PER_PAGE = 10


def page(query: PageQuery) -> tuple[list[Customer], str | None]:
    """One page of profiles in creation order, cut after filtering: a page holds `limit`
    matches unless the listing ends; the cursor is opaque to callers."""
    lowest = f"{query.created_from or 0:015d}"
    highest = f"{query.created_to if query.created_to is not None else MAX_CREATED_AT:015d}#~"
    params: dict[str, Any] = {
        "TableName": table_name(),
        "IndexName": "GSI1",
        "KeyConditionExpression": "GSI1PK = :pk AND GSI1SK BETWEEN :lowest AND :highest",
        "ExpressionAttributeValues": {
            ":pk": {"S": keys.CUSTOMERS_INDEX_PK},
            ":lowest": {"S": lowest},
            ":highest": {"S": highest},
        },
        "ScanIndexForward": query.ascending,
    }
    filters = []
    if query.search:
        filters.append("contains(search_text, :search)")
        params["ExpressionAttributeValues"][":search"] = {"S": query.search.lower()}
    if query.linked_to_stripe:
        filters.append("attribute_exists(stripe_id)")
    if filters:
        params["FilterExpression"] = " AND ".join(filters)
    if query.cursor:
        params["ExclusiveStartKey"] = decode_cursor(query.cursor)

    found: list[Customer] = []
    for _ in range(_MAX_READS_PER_PAGE):
        # Unfiltered, a read never goes past what fits in the page; filtered, it reads on
        # (DynamoDB filters after its Limit) and the page is cut at the last match taken.
        limit = query.limit - len(found) if not filters else None
        response = _query_page(params, limit)
        items = response.get("Items", [])
        wanted = items[: query.limit - len(found)]
        found.extend(customer_from(item) for item in wanted)
        last = response.get("LastEvaluatedKey")
        if len(wanted) < len(items):
            return found, encode_cursor(_index_key(wanted[-1]))
        if last is None:
            return found, None
        if len(found) >= query.limit:
            return found, encode_cursor(last)
        params["ExclusiveStartKey"] = last
    return found, encode_cursor(params["ExclusiveStartKey"])


def encode_cursor(last_key: dict[str, Any]) -> str:
    return cursors.encode(last_key)


def decode_cursor(cursor: str) -> Item:
    return cursors.decode(
        cursor,
        {"PK", "SK", "GSI1PK", "GSI1SK"},
        lambda key: key["GSI1PK"] == keys.CUSTOMERS_INDEX_PK,
    )


def _index_key(item: Item) -> Item:
    return {name: item[name] for name in ("PK", "SK", "GSI1PK", "GSI1SK")}


def _query_page(params: dict[str, Any], limit: int | None) -> Any:
    try:
        with translated_errors():
            if limit is None:
                return client().query(**params)
            return client().query(**params, Limit=limit)
    except ClientError as error:
        # A well-formed cursor from another query (other range or order) lies outside this
        # one's key condition: DynamoDB refuses it, and so do we, as the caller's mistake.
        if "ExclusiveStartKey" in params and error_code(error) == "ValidationException":
            raise cursors.invalid() from error
        raise


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


def _claim_email(customer: Customer) -> Write:
    assert customer.email is not None
    return Write(
        "Put",
        {
            "TableName": table_name(),
            "Item": to_item(
                {
                    "PK": keys.email_guard_pk(normalized_email(customer.email)),
                    "SK": "ANON",
                    "entity": "email_guard",
                    "internal_id": customer.internal_id,
                }
            ),
            "ConditionExpression": "attribute_not_exists(PK)",
        },
        on_condition_failed=UnclaimedEmailTaken,
    )


def _release_email(customer: Customer) -> Write:
    assert customer.email is not None
    return Write(
        "Delete",
        {
            "TableName": table_name(),
            "Key": _key(keys.email_guard_pk(normalized_email(customer.email)), "ANON"),
            "ConditionExpression": "internal_id = :iid",
            "ExpressionAttributeValues": {":iid": {"S": customer.internal_id}},
        },
        on_condition_failed=BillingInProgress,
    )


def linked_pk(stripe_id: str) -> str | None:
    """The partition of the customer linked to this Stripe customer, if any."""
    with translated_errors():
        found = client().get_item(
            TableName=table_name(),
            Key=_key(keys.stripe_customer_pk(stripe_id), "LINK"),
            ConsistentRead=True,
        )
    item = found.get("Item")
    return None if item is None else str(item["customer_pk"]["S"])


def _claim_stripe_customer(stripe_id: str, customer_pk: str) -> Write:
    return Write(
        "Put",
        {
            "TableName": table_name(),
            "Item": to_item(
                {
                    "PK": keys.stripe_customer_pk(stripe_id),
                    "SK": "LINK",
                    "entity": "stripe_customer_link",
                    "customer_pk": customer_pk,
                }
            ),
            # Re-linking to the same customer is fine; taking another's is not.
            "ConditionExpression": "attribute_not_exists(PK) OR customer_pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": customer_pk}},
        },
        on_condition_failed=StripeCustomerTaken,
    )


def _release_stripe_customer(stripe_id: str, customer_pk: str) -> Write:
    return Write(
        "Delete",
        {
            "TableName": table_name(),
            "Key": _key(keys.stripe_customer_pk(stripe_id), "LINK"),
            "ConditionExpression": "customer_pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": customer_pk}},
        },
        on_condition_failed=BillingInProgress,
    )


def _relink_stripe_customer(stripe_id: str, old_pk: str, new_pk: str) -> Write:
    return Write(
        "Update",
        {
            "TableName": table_name(),
            "Key": _key(keys.stripe_customer_pk(stripe_id), "LINK"),
            "UpdateExpression": "SET customer_pk = :new",
            "ConditionExpression": "customer_pk = :old",
            "ExpressionAttributeValues": {":old": {"S": old_pk}, ":new": {"S": new_pk}},
        },
        on_condition_failed=BillingInProgress,
    )


def _key(pk: str, sk: str) -> Item:
    return {"PK": {"S": pk}, "SK": {"S": sk}}
