"""The one transaction runner: conditional writes of one or many items, each condition's
failure named, and large sets written in chunks.

One item goes out as a plain conditional write (half the cost of a transaction); several go
out as one transaction. Either way, a failed condition raises the exception its write names,
read from the transaction's cancellation reasons, so callers never guess which one failed.
Every write of the table goes through here (a unit test holds the other modules to it).
"""

from collections.abc import Callable
from typing import Any, Literal, NamedTuple

from botocore.exceptions import ClientError

from billing.domain.errors import BillingError, BillingInProgress
from billing.store.table import (
    Item,
    cancellation_codes,
    client,
    error_code,
    table_name,
    translated_errors,
)

WriteKind = Literal["Put", "Delete", "Update", "ConditionCheck"]

# DynamoDB takes at most 100 items in a transaction (and 4 MB): a chunk stays well below.
TRANSACTION_ITEMS = 100
CHUNK_ITEMS = 50
# A batch write takes at most 25 items.
_BATCH_ITEMS = 25


class ConditionFailed(Exception):
    """A write's condition was false, for callers to whom that is an answer, not an error.
    `item` is the item as it stood if the write asked for it
    (`ReturnValuesOnConditionCheckFailure`), else empty."""

    def __init__(self, item: Item | None = None) -> None:
        super().__init__("the write's condition was false")
        self.item: Item = item or {}


class Write(NamedTuple):
    kind: WriteKind
    params: dict[str, Any]
    # Raised when this write's ConditionExpression is false (BillingInProgress when None).
    on_condition_failed: type[BillingError] | type[ConditionFailed] | None = None


def run(writes: list[Write]) -> dict[str, Any]:
    """Applies all writes or none. Returns the single-item response (empty for transactions):
    what a write asked back with `ReturnValues`."""
    if len(writes) == 1 and writes[0].kind != "ConditionCheck":
        try:
            with translated_errors():
                return _single(writes[0])
        except ClientError as error:
            raise _named_failure(error, writes) from error
    cancelled = transact([{w.kind: w.params} for w in writes])
    if cancelled is not None:
        raise _named_failure(cancelled, writes) from cancelled
    return {}


def transact(ops: list[dict[str, Any]]) -> ClientError | None:
    """Runs one transaction; returns its cancellation (a condition failed, or a conflict with
    a concurrent transaction) for the caller to read the reasons of."""
    try:
        with translated_errors():
            client().transact_write_items(TransactItems=ops)  # type: ignore[arg-type]
    except ClientError as error:
        if error_code(error) != "TransactionCanceledException":
            raise
        return error
    return None


def run_in_chunks(writes: list[Write], between: Callable[[], None] | None = None) -> None:
    """Applies many writes, a chunk per transaction: each chunk all or nothing, the whole not
    atomic (callers keep the parts invisible until one small write reveals them). A write
    whose condition no longer holds is left out ("only if still so"); the rest go ahead.
    `between` runs before every chunk but the first (a mover renews its lease there)."""
    for start in range(0, len(writes), CHUNK_ITEMS):
        if start and between is not None:
            between()
        pending = writes[start : start + CHUNK_ITEMS]
        while pending:
            cancelled = transact([{w.kind: w.params} for w in pending])
            if cancelled is None:
                break
            codes = cancellation_codes(cancelled)
            failed = {i for i, code in enumerate(codes) if code == "ConditionalCheckFailed"}
            if not failed:
                raise BillingInProgress from cancelled
            pending = [w for i, w in enumerate(pending) if i not in failed]


def delete_all(pk: str, more_time: Callable[[], bool]) -> bool:
    """Deletes the items of a partition nobody reads any more, unconditionally, in batches,
    a page at a time while `more_time()`; True once none is left. Deleted items are gone,
    so a call after one that ran out of time simply starts from the beginning again."""
    dynamodb, table = client(), table_name()
    params: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "PK = :pk",
        "ExpressionAttributeValues": {":pk": {"S": pk}},
        "ProjectionExpression": "PK, SK",
    }
    while True:
        with translated_errors():
            response = dynamodb.query(**params)
        found = response.get("Items", [])
        for start in range(0, len(found), _BATCH_ITEMS):
            requests: Any = {
                table: [
                    {"DeleteRequest": {"Key": key}} for key in found[start : start + _BATCH_ITEMS]
                ]
            }
            while requests:
                with translated_errors():
                    requests = dynamodb.batch_write_item(RequestItems=requests).get(
                        "UnprocessedItems"
                    )
        if "LastEvaluatedKey" not in response:
            return True
        if not more_time():
            return False
        params["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def _single(write: Write) -> dict[str, Any]:
    dynamodb = client()
    params = write.params
    if write.kind == "Put":
        return dict(dynamodb.put_item(**params))
    if write.kind == "Delete":
        return dict(dynamodb.delete_item(**params))
    return dict(dynamodb.update_item(**params))


def _named_failure(error: ClientError, writes: list[Write]) -> Exception:
    code = error_code(error)
    if code == "ConditionalCheckFailedException":
        return _failure(writes[0], error.response.get("Item"))  # type: ignore[arg-type]
    if code != "TransactionCanceledException":
        return error
    reasons: list[dict[str, Any]] = error.response.get("CancellationReasons", [])  # type: ignore[assignment]
    for write, reason, code in zip(writes, reasons, cancellation_codes(error), strict=False):
        if code == "ConditionalCheckFailed":
            return _failure(write, reason.get("Item"))
    # Cancelled by a concurrent transaction on the same items: the caller reloads and retries.
    return BillingInProgress()


def _failure(write: Write, item: Item | None) -> Exception:
    named = write.on_condition_failed or BillingInProgress
    if issubclass(named, ConditionFailed):
        return named(dict(item) if item else None)
    return named()
