"""The DynamoDB client, item (de)serialisation and the translation of AWS errors."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import ClientError

from billing.config import settings
from billing.domain.errors import StoreUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

Item = dict[str, "AttributeValueTypeDef"]

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

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
    configured = settings()
    return boto3.client(
        "dynamodb",
        endpoint_url=configured.dynamodb_endpoint_url,
        config=Config(
            retries={"mode": "standard", "max_attempts": 4},
            connect_timeout=2,
            read_timeout=5,
        ),
    )


def table_name() -> str:
    return settings().table_name


def to_item(values: Mapping[str, Any]) -> Item:
    """Plain values to DynamoDB attributes. None means "no attribute", floats become Decimals."""
    present = {k: v for k, v in values.items() if v is not None}
    # A JSON round trip turns every float (also deep inside metadata) into a Decimal.
    as_decimals = json.loads(json.dumps(present), parse_float=Decimal)
    return {k: _serializer.serialize(v) for k, v in as_decimals.items()}


def to_value(value: Any) -> AttributeValueTypeDef:
    return _serializer.serialize(json.loads(json.dumps(value), parse_float=Decimal))


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _plain(_deserializer.deserialize(v)) for k, v in item.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


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
