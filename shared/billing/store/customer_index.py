"""The listing of customers: their profiles in the creation-order index (GSI1), a page at
a time, filtered, with an opaque cursor."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from billing.domain.customers import MAX_CREATED_AT, Customer, PageQuery
from billing.store import cursors, keys
from billing.store.profiles import customer_from
from billing.store.table import Item, client, error_code, table_name, translated_errors

# A selective filter may need several reads to fill a page (each up to 1 MB of the index);
# past this many, a shorter page goes back with its cursor rather than keep the caller waiting.
_MAX_READS_PER_PAGE = 10


def page(query: PageQuery) -> tuple[list[Customer], str | None]:
    """One page of profiles in creation order, cut after filtering: a page holds `limit`
    matches unless the listing ends; the cursor is opaque to callers."""
    lowest, highest = keys.customers_index_range(
        query.created_from or 0,
        query.created_to if query.created_to is not None else MAX_CREATED_AT,
    )
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
