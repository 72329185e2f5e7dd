"""Conditional writes of one or many items, with each condition's failure named.

One item goes out as a plain conditional write (half the cost of a transaction); several go
out as one transaction. Either way, a failed condition raises the exception its write names,
read from the transaction's cancellation reasons, so callers never guess which one failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from botocore.exceptions import ClientError

from billing.domain.errors import BillingError, BillingInProgress
from billing.store.table import cancellation_codes, client, error_code, translated_errors

WriteKind = Literal["Put", "Delete", "Update"]


@dataclass(frozen=True)
class Write:
    kind: WriteKind
    params: dict[str, Any]
    # Raised when this write's ConditionExpression is false; None means it has no condition.
    on_condition_failed: type[BillingError] | None = None


def run(writes: list[Write]) -> dict[str, Any]:
    """Applies all writes or none. Returns the single-item response (empty for transactions)."""
    try:
        with translated_errors():
            if len(writes) == 1:
                return _single(writes[0])
            client().transact_write_items(
                TransactItems=[{w.kind: w.params} for w in writes]  # type: ignore[misc]
            )
            return {}
    except ClientError as error:
        raise _named_failure(error, writes) from error


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
        return (writes[0].on_condition_failed or BillingInProgress)()
    if code != "TransactionCanceledException":
        return error
    reasons = cancellation_codes(error)
    for write, reason in zip(writes, reasons, strict=False):
        if reason == "ConditionalCheckFailed":
            return (write.on_condition_failed or BillingInProgress)()
    # Cancelled by a concurrent transaction on the same items: the caller reloads and retries.
    return BillingInProgress()
