from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from billing.api.body import parse
from billing.api.wire.customers import UpdateCustomerRequest
from billing.domain.customers import Customer
from billing.domain.errors import InvalidRequest, StoreUnavailable
from billing.store import profiles
from billing.store.table import from_item, to_item, to_value, translated_errors
from tests.unit.events import api_event


def round_trip(values: dict[str, Any]) -> dict[str, Any]:
    return from_item(to_item(values))


def test_plain_values_survive_a_round_trip():
    values = {
        "PK": "CUS#u1",
        "name": "Ada",
        "send_email_receipts": True,
        "created_at": 1_700_000_000_123,
        "tags": ["a", "b"],
        "metadata": {},
    }

    assert round_trip(values) == values


def test_none_means_no_attribute():
    item = to_item({"PK": "CUS#u1", "name": None, "email": "ada@example.com"})

    assert set(item) == {"PK", "email"}
    assert from_item(item) == {"PK": "CUS#u1", "email": "ada@example.com"}


def test_fractions_are_stored_as_numbers_and_come_back_as_exact_decimals():
    assert to_item({"ratio": 0.1})["ratio"] == {"N": "0.1"}
    assert to_item({"ratio": Decimal("0.30")})["ratio"] == {"N": "0.3"}
    assert round_trip({"ratio": Decimal("0.1")}) == {"ratio": Decimal("0.1")}
    assert isinstance(round_trip({"ratio": 0.1})["ratio"], Decimal)


def test_decimals_nested_in_metadata_survive():
    metadata = {
        "price": Decimal("9.99"),
        "tiers": [{"rate": Decimal("0.5")}, {"rate": Decimal("1.25")}],
        "deep": {"x": {"y": Decimal("-2.5")}},
    }

    assert round_trip({"metadata": metadata}) == {"metadata": metadata}


def test_ints_stay_ints_even_when_large():
    back = round_trip({"count": 3, "big": 2**62, "nested": {"n": [1, 2]}})

    assert back == {"count": 3, "big": 2**62, "nested": {"n": [1, 2]}}
    assert type(back["count"]) is int
    assert type(back["big"]) is int
    assert all(type(n) is int for n in back["nested"]["n"])


def test_nested_none_values_are_kept_as_nulls():
    assert round_trip({"metadata": {"gone": None}}) == {"metadata": {"gone": None}}


def test_to_value_serializes_one_value_with_decimals():
    assert to_value(3) == {"N": "3"}
    assert to_value({"f": 1.5}) == {"M": {"f": {"N": "1.5"}}}


def test_from_item_reads_decimals_written_by_other_tools():
    assert from_item({"n": {"N": "42"}, "f": {"N": "4.25"}}) == {"n": 42, "f": 4.25}
    assert from_item({"d": {"N": str(Decimal("1E+2"))}}) == {"d": 100}


@pytest.mark.parametrize(
    "number",
    [
        pytest.param("1e200", id="float above DynamoDB's range"),
        pytest.param("1e-200", id="float below DynamoDB's range"),
        pytest.param("1" + "0" * 40, id="int with more than 38 digits"),
    ],
)
def test_metadata_the_api_accepts_can_be_stored(number: str):
    """A request is either refused with a 400 or stored: never a 500 from the store."""
    event = api_event('{"customer_id": "u1", "metadata": {"n": ' + number + "}}")
    try:
        metadata = parse(UpdateCustomerRequest, event).changes().metadata
    except InvalidRequest:
        return  # refused up front: fine
    assert isinstance(metadata, dict)
    customer = Customer(internal_id="cus_1", id="u1", metadata=metadata, created_at=1)

    stored = profiles.customer_from(profiles.profile_item(customer))

    assert stored.metadata == json.loads(json.dumps(metadata))


@pytest.mark.parametrize(
    "failure",
    [
        ReadTimeoutError(endpoint_url="http://dynamodb.local"),
        ConnectTimeoutError(endpoint_url="http://dynamodb.local"),
        EndpointConnectionError(endpoint_url="http://dynamodb.local"),
        ConnectionClosedError(endpoint_url="http://dynamodb.local"),
    ],
    ids=["read timeout", "connect timeout", "no connection", "connection closed"],
)
def test_a_store_that_does_not_answer_is_a_retryable_store_error_not_a_crash(failure):
    with pytest.raises(StoreUnavailable), translated_errors():
        raise failure
