"""A customer's Stripe invoices: `INVOICES#<internal id>` / `<created, 15 digits>#<invoice id>`.

Out of the customer's own partition (which every check reads), newest first by key. Each
write is conditional on the invoice's own timeline (its status can only move forward:
draft, open, then paid, void or uncollectible), so a late `invoice.created` never turns a
paid invoice back into a draft.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any, NamedTuple

from billing import numbers
from billing.store import cursors, keys, writes
from billing.store.table import Item, client, table_name, translated_errors
from billing.store.writes import ConditionFailed, Write

# How far along its life an invoice is: a write never moves one back.
_RANK = {"draft": 0, "open": 1, "uncollectible": 2, "paid": 3, "void": 3}


class InvoiceRecord(NamedTuple):
    stripe_id: str
    customer_id: str | None
    status: str
    total: Decimal
    currency: str
    hosted_invoice_url: str | None
    created_at: int  # ms
    plan_ids: tuple[str, ...]
    # Stripe's number (`<prefix>-0001`), given when the invoice is finalized: the order in
    # which invoices made within one second were made (test clocks freeze time).
    number: str | None = None


def put(owner: str, record: InvoiceRecord) -> bool:
    """Keeps the invoice as it is now, unless a later state of it is kept already (False)."""
    item: Item = {
        "PK": {"S": keys.invoices_pk(owner)},
        "SK": {"S": keys.invoice_sk(record.created_at, record.stripe_id)},
        "entity": {"S": "invoice"},
        "owner": {"S": owner},
        "stripe_id": {"S": record.stripe_id},
        "status": {"S": record.status},
        "rank": {"N": str(_RANK.get(record.status, 0))},
        "total": {"N": numbers.text(record.total)},
        "currency": {"S": record.currency},
        "created_at": {"N": str(record.created_at)},
        "plan_ids": {"L": [{"S": p} for p in record.plan_ids]},
    }
    if record.customer_id is not None:
        item["customer_id"] = {"S": record.customer_id}
    if record.hosted_invoice_url is not None:
        item["hosted_invoice_url"] = {"S": record.hosted_invoice_url}
    if record.number is not None:
        item["number"] = {"S": record.number}
    put = {
        "TableName": table_name(),
        "Item": item,
        "ConditionExpression": "attribute_not_exists(PK) OR #rank <= :rank",
        "ExpressionAttributeNames": {"#rank": "rank"},
        "ExpressionAttributeValues": {":rank": item["rank"]},
    }
    try:
        writes.run([Write("Put", put, on_condition_failed=ConditionFailed)])
    except ConditionFailed:
        return False
    return True


# The most invoices one listing reads: a filter few of a customer's invoices pass answers
# with a shorter page and a cursor rather than reading the whole partition in one call.
MOST_READ = 1000


def page(
    owner: str,
    limit: int,
    cursor: str | None,
    keep: Callable[[InvoiceRecord], bool] | None = None,
    most_read: int = MOST_READ,
) -> tuple[list[InvoiceRecord], str | None]:
    """The customer's invoices that `keep` accepts (all without it), newest first, `limit`
    at a time.

    A page is full unless no more invoices match, or `most_read` were read first: then its
    cursor goes on after the last one read. Otherwise a cursor is given only when another
    match was seen past the page, so the last page is never an empty one."""
    pk = keys.invoices_pk(owner)
    start_key = (
        cursors.decode(cursor, {"PK", "SK"}, lambda key: key["PK"] == pk) if cursor else None
    )
    found: list[InvoiceRecord] = []
    last_found: Item = {}
    read = 0
    # The first read fits an unfiltered page and the match past it; a filter that passes
    # few reads twice as many each time after.
    want = limit + 1
    while True:
        params: dict[str, Any] = {
            "TableName": table_name(),
            "KeyConditionExpression": "PK = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "ScanIndexForward": False,
            "Limit": min(want, most_read - read),
        }
        if start_key is not None:
            params["ExclusiveStartKey"] = start_key
        with translated_errors():
            response = client().query(**params)
        for item in response["Items"]:
            read += 1
            record = _record(item)
            if keep is not None and not keep(record):
                continue
            if len(found) == limit:
                cursor_after = cursors.encode({"PK": last_found["PK"], "SK": last_found["SK"]})
                return newest_first(found), cursor_after
            found.append(record)
            last_found = item
        start_key = response.get("LastEvaluatedKey")
        if start_key is None:
            return newest_first(found), None
        if read >= most_read:
            return newest_first(found), cursors.encode(start_key)
        want *= 2


def _record(item: dict[str, Any]) -> InvoiceRecord:
    return InvoiceRecord(
        stripe_id=item["stripe_id"]["S"],
        customer_id=item["customer_id"]["S"] if "customer_id" in item else None,
        status=item["status"]["S"],
        total=Decimal(item["total"]["N"]),
        currency=item["currency"]["S"],
        hosted_invoice_url=item["hosted_invoice_url"]["S"]
        if "hosted_invoice_url" in item
        else None,
        created_at=int(item["created_at"]["N"]),
        plan_ids=tuple(p["S"] for p in item["plan_ids"]["L"]),
        number=item["number"]["S"] if "number" in item else None,
    )


def newest_first(records: list[InvoiceRecord]) -> list[InvoiceRecord]:
    """A page in the order it is shown: by `created`, newest first; of invoices made in the
    same second, a draft (not numbered yet, so made last) first, then by Stripe's number,
    highest first, then by id: the same order on every read. The key's own order (created,
    then id) decides which invoices a page holds: invoices of one second cut by a page's end
    are ordered within each page."""
    return sorted(records, key=_shown_order, reverse=True)


def _shown_order(record: InvoiceRecord) -> tuple[int, int, int, str]:
    if record.number is None:
        return (record.created_at, 1, 0, record.stripe_id)
    digits = re.search(r"(\d+)$", record.number)
    return (record.created_at, 0, int(digits.group(1)) if digits else -1, record.stripe_id)
