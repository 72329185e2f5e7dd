"""Exact numbers: the text written to JSON answers and DynamoDB, and what DynamoDB can store."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from billing import numbers


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("154.33"), "154.33"),
        (Decimal("0.30"), "0.3"),
        (Decimal("2.0"), "2"),
        (Decimal("1E+3"), "1000"),
        (Decimal("-0"), "0"),
        (Decimal("0.0000001"), "1E-7"),
        (Decimal("1e125"), "1E+125"),
        (7, "7"),
    ],
)
def test_a_number_is_written_as_its_shortest_exact_text(value: Decimal | int, text: str) -> None:
    assert numbers.text(value) == text
    assert Decimal(json.loads(text, parse_float=Decimal)) == value


def test_json_writes_decimals_as_numbers_and_reads_them_back_exactly() -> None:
    written = numbers.dumps({"a": Decimal("0.1"), "b": [Decimal("2.50"), 1, None, True, "x"]})

    assert written == '{"a":0.1,"b":[2.5,1,null,true,"x"]}'
    assert numbers.loads(written) == {
        "a": Decimal("0.1"),
        "b": [Decimal("2.5"), 1, None, True, "x"],
    }


def test_a_sum_of_storable_numbers_is_exact_to_38_digits() -> None:
    big, small = Decimal("1" + "0" * 17), Decimal("0.00000000000000000001")

    assert big + small - big == small


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (Decimal("1" * 39), "at most 38 significant digits"),
        (Decimal("1e-131"), "at least 1e-130"),
        (Decimal("1e126"), "at most 1e125"),
        (Decimal("NaN"), "finite"),
    ],
)
def test_what_dynamodb_cannot_store_is_named(value: Decimal, problem: str) -> None:
    found = numbers.storable_problem(value)

    assert found is not None
    assert problem in found


@pytest.mark.parametrize("value", ["0", "1" * 38, "1e-130", "1e125", "-1e125", "1" * 38 + "000"])
def test_what_dynamodb_stores_passes(value: str) -> None:
    assert numbers.storable_problem(Decimal(value)) is None
