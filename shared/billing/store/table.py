"""The DynamoDB client, item (de)serialisation and the translation of AWS errors."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from billing import numbers
from billing.config import aws_client, settings
from billing.domain.errors import StoreUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

Item = dict[str, "AttributeValueTypeDef"]


# Codes that mean "try again later", never "the caller did something wrong".
_TRANSIENT = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionConflictException",
    "TransactionInProgressException",
}


@cache
def client() -> DynamoDBClient:
    dynamodb: DynamoDBClient = aws_client("dynamodb")
    return dynamodb


def table_name() -> str:
    return settings().table_name


def to_item(values: Mapping[str, Any]) -> Item:
    """Plain values to DynamoDB attributes. None means "no attribute"."""
    return {k: to_value(v) for k, v in values.items() if v is not None}


def to_value(value: Any) -> AttributeValueTypeDef:
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float | Decimal):
        return {"N": _number(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, Mapping):
        return {"M": {str(k): to_value(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [to_value(v) for v in value]}
    raise TypeError(f"cannot store a {type(value).__name__}")


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: from_value(v) for k, v in item.items()}


def from_value(attribute: Mapping[str, Any]) -> Any:
    (kind, raw), *_ = attribute.items()
    if kind == "S":
        return raw
    if kind == "N":
        number = Decimal(raw)
        return int(number) if number == number.to_integral_value() else number
    if kind == "BOOL":
        return bool(raw)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: from_value(v) for k, v in raw.items()}
    if kind == "L":
        return [from_value(v) for v in raw]
    raise TypeError(f"unexpected attribute type {kind}")


def _number(value: int | float | Decimal) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("DynamoDB numbers are finite")
    return repr(value) if isinstance(value, float) else numbers.text(value)


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def cancellation_codes(error: ClientError) -> list[str]:
    """Per-item reasons of a cancelled transaction, in the order the items were sent."""
    reasons = error.response.get("CancellationReasons", [])
    return [str(reason.get("Code", "None")) for reason in reasons]


@contextmanager
def translated_errors() -> Iterator[None]:
    """Turns throttling and other transient AWS failures into one retryable domain error."""
    try:
        yield
    except ClientError as error:
        if error_code(error) in _TRANSIENT:
            raise StoreUnavailable from error
        raise
    except (ConnectionClosedError, ConnectTimeoutError, EndpointConnectionError) as error:
        raise StoreUnavailable from error
    except ReadTimeoutError as error:
        # botocore gave up waiting for an answer (after its own retries): the write may or
        # may not have landed, which the conditions of a retry sort out.
        raise StoreUnavailable from error
