"""Idempotency records: `IDEM#<key>` items that hold a request's fingerprint and its answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from billing.store import keys
from billing.store.table import client, error_code, from_item, table_name, translated_errors

IN_PROGRESS = "IN_PROGRESS"
COMPLETED = "COMPLETED"


@dataclass(frozen=True)
class StoredRequest:
    fingerprint: str
    status: str
    locked_until_ms: int
    response_status: int | None = None
    response_body: str | None = None
    # What a queued request sent (async track): its retries send the very same message.
    queued_message: str | None = None


def try_lock(
    key: str, fingerprint: str, now_ms: int, lock_ms: int, ttl_s: int
) -> StoredRequest | None:
    """Takes the key for this request. Returns None when taken, else the record holding it.

    A record whose TTL passed (DynamoDB deletes expired items lazily) or whose unfinished
    request's lock ran out counts as free, so a crashed request never locks a key out.
    """
    try:
        with translated_errors():
            client().put_item(
                TableName=table_name(),
                Item={
                    "PK": {"S": keys.idempotency_pk(key)},
                    "SK": {"S": keys.IDEMPOTENCY_SK},
                    "entity": {"S": "idempotency"},
                    "fingerprint": {"S": fingerprint},
                    "status": {"S": IN_PROGRESS},
                    "locked_until_ms": {"N": str(now_ms + lock_ms)},
                    "ttl": {"N": str(now_ms // 1000 + ttl_s)},
                },
                ConditionExpression=(
                    "attribute_not_exists(PK) OR #ttl < :now_s"
                    " OR (#status = :in_progress AND locked_until_ms < :now_ms)"
                ),
                ExpressionAttributeNames={"#ttl": "ttl", "#status": "status"},
                ExpressionAttributeValues={
                    ":now_s": {"N": str(now_ms // 1000)},
                    ":now_ms": {"N": str(now_ms)},
                    ":in_progress": {"S": IN_PROGRESS},
                },
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
    except ClientError as error:
        if error_code(error) != "ConditionalCheckFailedException":
            raise
        return _stored(error)
    return None


def _stored(error: ClientError) -> StoredRequest:
    old = from_item(dict(error.response.get("Item", {})))  # type: ignore[call-overload]
    return StoredRequest(
        fingerprint=old["fingerprint"],
        status=old["status"],
        locked_until_ms=old["locked_until_ms"],
        response_status=old.get("response_status"),
        response_body=old.get("response_body"),
        queued_message=old.get("queued_message"),
    )


def record_queued(
    key: str, request: StoredRequest, now_ms: int, ttl_s: int
) -> StoredRequest | None:
    """Keeps a queued request's answer and message under its key, unless the key is taken:
    then returns the record holding it."""
    item: dict[str, Any] = {
        "PK": {"S": keys.idempotency_pk(key)},
        "SK": {"S": keys.IDEMPOTENCY_SK},
        "entity": {"S": "idempotency"},
        "fingerprint": {"S": request.fingerprint},
        "status": {"S": COMPLETED},
        "locked_until_ms": {"N": str(now_ms)},
        "response_status": {"N": str(request.response_status)},
        "response_body": {"S": request.response_body or ""},
        "queued_message": {"S": request.queued_message or ""},
        "ttl": {"N": str(now_ms // 1000 + ttl_s)},
    }
    try:
        with translated_errors():
            client().put_item(
                TableName=table_name(),
                Item=item,
                ConditionExpression="attribute_not_exists(PK) OR #ttl < :now_s",
                ExpressionAttributeNames={"#ttl": "ttl"},
                ExpressionAttributeValues={":now_s": {"N": str(now_ms // 1000)}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
    except ClientError as error:
        if error_code(error) != "ConditionalCheckFailedException":
            raise
        return _stored(error)
    return None


def complete(key: str, fingerprint: str, status: int, body: str) -> None:
    """Stores the answer that retries with this key will replay."""
    with translated_errors():
        client().update_item(
            TableName=table_name(),
            Key={"PK": {"S": keys.idempotency_pk(key)}, "SK": {"S": keys.IDEMPOTENCY_SK}},
            UpdateExpression="SET #status = :done, response_status = :code, response_body = :body",
            ConditionExpression="fingerprint = :fp",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":done": {"S": COMPLETED},
                ":code": {"N": str(status)},
                ":body": {"S": body},
                ":fp": {"S": fingerprint},
            },
        )


def release(key: str, fingerprint: str) -> None:
    """Frees the key after a failure on our side, so the caller's retry runs for real."""
    try:
        with translated_errors():
            client().delete_item(
                TableName=table_name(),
                Key={"PK": {"S": keys.idempotency_pk(key)}, "SK": {"S": keys.IDEMPOTENCY_SK}},
                ConditionExpression="fingerprint = :fp AND #status = :in_progress",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":fp": {"S": fingerprint},
                    ":in_progress": {"S": IN_PROGRESS},
                },
            )
    except ClientError as error:
        if error_code(error) != "ConditionalCheckFailedException":
            raise
