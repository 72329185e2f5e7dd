"""Customer records: the profile item, its uniqueness guards, and moves between ids."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from billing import numbers
from billing.domain.customers import MAX_CREATED_AT, Customer, PageQuery, normalized_email
from billing.domain.errors import (
    BalanceExists,
    BillingInProgress,
    CustomerExists,
    StripeCustomerTaken,
    UnclaimedEmailTaken,
)
from billing.domain.holdings import Flag, Grant, Holdings, Subscription
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


def pk_of(customer: Customer) -> str:
    return keys.customer_pk(customer.id, customer.internal_id)


def load(customer_id: str) -> Customer | None:
    """One consistent read of the customer's partition."""
    return _load_partition(keys.customer_pk(customer_id, ""))


def load_unclaimed(email: str) -> Customer | None:
    """The id-less customer holding this email, if any (guard, then its partition)."""
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
    internal_id = from_item(guard)["internal_id"]
    return _load_partition(keys.customer_pk(None, internal_id))


def create(customer: Customer, also: list[Write] | None = None) -> None:
    """Creates the customer and what it holds, exclusively: its id, its Stripe customer and
    (id-less) its email. `also` joins the same transaction (plan versions marked in use)."""
    ops = [
        Write(
            "Put",
            {
                "TableName": table_name(),
                "Item": _profile_item(customer),
                "ConditionExpression": "attribute_not_exists(PK)",
            },
            on_condition_failed=CustomerExists,
        )
    ]
    if customer.id is None and customer.email:
        ops.append(_claim_email(customer))
    if customer.stripe_id:
        ops.append(_claim_stripe_customer(customer.stripe_id, pk_of(customer)))
    ops += [
        Write("Put", {"TableName": table_name(), "Item": item})
        for item in _holding_items(pk_of(customer), customer.holdings)
    ]
    writes.run(ops + (also or []))


def save(before: Customer, after: Customer) -> Customer:
    """Writes `after` over `before` if nobody changed it meanwhile (optimistic locking).

    Also keeps the Stripe guard in step when the linked Stripe customer changes.
    Raises BillingInProgress when the record moved on: reload and decide again.
    """
    saved = after.model_copy(update={"version": before.version + 1})
    ops = [
        Write(
            "Put",
            {
                "TableName": table_name(),
                "Item": _profile_item(saved),
                "ConditionExpression": "#v = :v",
                "ExpressionAttributeNames": {"#v": "version"},
                "ExpressionAttributeValues": {":v": to_value(before.version)},
            },
        )
    ]
    if saved.stripe_id != before.stripe_id:
        if saved.stripe_id:
            ops.append(_claim_stripe_customer(saved.stripe_id, pk_of(saved)))
        if before.stripe_id:
            ops.append(_release_stripe_customer(before.stripe_id, pk_of(before)))
    writes.run(ops)
    return saved


def move(before: Customer, after: Customer) -> Customer:
    """Moves a customer and everything it holds to `after.id` in one transaction.

    Used to claim an id-less customer and to rename one. The new id must be free, the old
    record unchanged since read, and an id-less customer's email guard still its own:
    so of two concurrent claims of one email, exactly one wins.
    """
    old_pk, moved = pk_of(before), after.model_copy(update={"version": before.version + 1})
    new_pk = pk_of(moved)
    ops = [
        Write(
            "Put",
            {
                "TableName": table_name(),
                "Item": _profile_item(moved),
                "ConditionExpression": "attribute_not_exists(PK)",
            },
            on_condition_failed=CustomerExists,
        ),
        _delete_profile(before),
    ]
    ops += [
        Write("Put", {"TableName": table_name(), "Item": item})
        for item in _holding_items(new_pk, before.holdings)
    ]
    ops += _holding_deletes(old_pk, before.holdings)
    if before.id is None and before.email:
        ops.append(_release_email(before))
    if before.stripe_id:
        ops.append(_relink_stripe_customer(before.stripe_id, old_pk, new_pk))
    writes.run(ops)
    return moved


def delete(customer: Customer) -> None:
    """Deletes the customer and what it holds and releases its guards, all or nothing."""
    pk = pk_of(customer)
    ops = [_delete_profile(customer), *_holding_deletes(pk, customer.holdings)]
    if customer.id is None and customer.email:
        ops.append(_release_email(customer))
    if customer.stripe_id:
        ops.append(_release_stripe_customer(customer.stripe_id, pk))
    writes.run(ops)


# A selective filter may need several reads to fill a page; past this many, a shorter
# page goes back with its cursor rather than keeping the caller waiting.
_MAX_READS_PER_PAGE = 10


def page(query: PageQuery) -> tuple[list[Customer], str | None]:
    """One page of customers in creation order; the cursor is opaque to callers."""
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
        params["ExclusiveStartKey"] = _decode_cursor(query.cursor)

    found: list[Customer] = []
    last: Any = None
    for _ in range(_MAX_READS_PER_PAGE):
        # Never read past what fits in the page, so the cursor is exactly where we stopped.
        response = _query_page(params, query.limit - len(found))
        found.extend(_customer_from(from_item(item)) for item in response.get("Items", []))
        last = response.get("LastEvaluatedKey")
        if last is None or len(found) >= query.limit:
            break
        params["ExclusiveStartKey"] = last
    return _with_holdings(found), _encode_cursor(last) if last else None


def _with_holdings(profiles: list[Customer]) -> list[Customer]:
    """The index holds profiles only: each listed customer's partition adds its holdings.
    The reads run side by side, so a page costs about one round trip more, not fifty."""
    if not profiles:
        return profiles
    with ThreadPoolExecutor(max_workers=min(8, len(profiles))) as pool:
        loaded = list(pool.map(lambda c: _load_partition(pk_of(c)), profiles))
    return [fresh or profile for fresh, profile in zip(loaded, profiles, strict=True)]


def _query_page(params: dict[str, Any], limit: int) -> Any:
    try:
        with translated_errors():
            return client().query(**params, Limit=limit)
    except ClientError as error:
        # A well-formed cursor from another query (other range or order) lies outside this
        # one's key condition: DynamoDB refuses it, and so do we, as the caller's mistake.
        if "ExclusiveStartKey" in params and error_code(error) == "ValidationException":
            raise cursors.invalid() from error
        raise


def _load_partition(pk: str) -> Customer | None:
    items = _partition_items(pk)
    profile = next((i for i in items if i["SK"]["S"] == keys.PROFILE), None)
    if profile is None:
        return None
    customer = _customer_from(from_item(profile))
    return customer.model_copy(update={"holdings": _holdings_from(items)})


def _holding_items(pk: str, holdings: Holdings) -> list[Item]:
    items: list[Item] = []
    for sub in holdings.subscriptions:
        items.append(
            _body_item(pk, keys.subscription_sk(sub.plan_id, sub.id), sub.model_dump_json())
        )
    for grant in holdings.grants:
        item = _body_item(pk, keys.grant_sk(grant.feature_id, grant.id), grant.model_dump_json())
        # Usage and the next reset are attributes of their own: deductions and resets are
        # conditional updates of them alone.
        item["usage"] = {"N": numbers.text(grant.usage)}
        if grant.next_reset_at is not None:
            item["next_reset_at"] = {"N": str(grant.next_reset_at)}
        items.append(_indexed_as_holder(item, pk, grant.feature_id))
    for flag in holdings.flags:
        item = _body_item(pk, keys.flag_sk(flag.feature_id, flag.id), flag.model_dump_json())
        items.append(_indexed_as_holder(item, pk, flag.feature_id))
    return items


def _indexed_as_holder(item: Item, pk: str, feature_id: str) -> Item:
    """In the sparse GSI2: who holds a feature, found without a scan (store.features)."""
    item["GSI2PK"] = {"S": keys.feature_holder_pk(feature_id)}
    item["GSI2SK"] = {"S": pk}
    return item


def _holding_deletes(pk: str, holdings: Holdings) -> list[Write]:
    """Deletes of what the customer held as read: the items are known from the holdings, no
    need to read the partition again. A grant is deleted only with the usage read, so a
    deduction landing meanwhile makes the caller read and decide again, never lost."""
    deletes = []
    for item in _holding_items(pk, holdings):
        params: dict[str, Any] = {"TableName": table_name(), "Key": _key(pk, item["SK"]["S"])}
        if "usage" in item:
            params["ConditionExpression"] = "#usage = :usage"
            params["ExpressionAttributeNames"] = {"#usage": "usage"}
            params["ExpressionAttributeValues"] = {":usage": item["usage"]}
        deletes.append(Write("Delete", params, on_condition_failed=BillingInProgress))
    return deletes


def _holdings_from(items: list[Item]) -> Holdings:
    subscriptions: list[Subscription] = []
    grants: list[Grant] = []
    flags: list[Flag] = []
    for item in items:
        sk, body = item["SK"]["S"], item.get("body", {}).get("S")
        if body is None:
            continue
        if sk.startswith(keys.SUBSCRIPTION):
            subscriptions.append(Subscription.model_validate_json(body))
        elif sk.startswith(keys.GRANT):
            grants.append(grant_from_item(item))
        elif sk.startswith(keys.FLAG):
            flags.append(Flag.model_validate_json(body))
    subscriptions.sort(key=lambda sub: sub.started_at)
    grants.sort(key=lambda grant: grant.anchor_at)
    return Holdings(subscriptions=tuple(subscriptions), grants=tuple(grants), flags=tuple(flags))


def add_holdings(customer: Customer, held: Holdings) -> None:
    """New grants or flags for an existing customer; an id already there is refused."""
    pk = pk_of(customer)
    writes.run(
        [
            Write(
                "Put",
                {
                    "TableName": table_name(),
                    "Item": item,
                    "ConditionExpression": "attribute_not_exists(PK)",
                },
                on_condition_failed=BalanceExists,
            )
            for item in _holding_items(pk, held)
        ]
    )


def replace_grant(customer: Customer, before: Grant, after: Grant) -> None:
    """Writes `after` over `before`, if its usage and next reset are still as read."""
    item = _holding_items(pk_of(customer), Holdings(grants=(after,)))[0]
    condition = "#usage = :usage AND " + (
        "#next = :next" if before.next_reset_at is not None else "attribute_not_exists(#next)"
    )
    values: dict[str, Any] = {":usage": {"N": numbers.text(before.usage)}}
    if before.next_reset_at is not None:
        values[":next"] = {"N": str(before.next_reset_at)}
    writes.run(
        [
            Write(
                "Put",
                {
                    "TableName": table_name(),
                    "Item": item,
                    "ConditionExpression": condition,
                    "ExpressionAttributeNames": {"#usage": "usage", "#next": "next_reset_at"},
                    "ExpressionAttributeValues": values,
                },
                on_condition_failed=BillingInProgress,
            )
        ]
    )


def grant_from_item(item: Item | dict[str, Any]) -> Grant:
    grant = Grant.model_validate_json(item["body"]["S"])
    reset = item.get("next_reset_at")
    return grant.model_copy(
        update={
            "usage": Decimal(item["usage"]["N"]),
            "next_reset_at": int(reset["N"]) if reset else None,
        }
    )


def _body_item(pk: str, sk: str, body: str) -> Item:
    return {"PK": {"S": pk}, "SK": {"S": sk}, "body": {"S": body}}


def _partition_items(pk: str) -> list[Item]:
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


def _customer_from(values: dict[str, Any]) -> Customer:
    return Customer(
        id=values.get("customer_id"),
        metadata=json.loads(values.get("metadata_json", "{}")),
        **{name: values[name] for name in _PROFILE_FIELDS if name in values},
    )


def _profile_item(customer: Customer) -> Item:
    pk = pk_of(customer)
    values = customer.model_dump(include=set(_PROFILE_FIELDS))
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


def _delete_profile(customer: Customer) -> Write:
    return Write(
        "Delete",
        {
            "TableName": table_name(),
            "Key": _key(pk_of(customer), keys.PROFILE),
            "ConditionExpression": "#v = :v",
            "ExpressionAttributeNames": {"#v": "version"},
            "ExpressionAttributeValues": {":v": to_value(customer.version)},
        },
        on_condition_failed=BillingInProgress,
    )


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


def _encode_cursor(last_key: dict[str, Any]) -> str:
    return cursors.encode(last_key)


def _decode_cursor(cursor: str) -> Item:
    return cursors.decode(
        cursor,
        {"PK", "SK", "GSI1PK", "GSI1SK"},
        lambda key: key["GSI1PK"] == keys.CUSTOMERS_INDEX_PK,
    )
