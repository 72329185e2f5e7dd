"""Exact numbers: quantities and money are `Decimal` from the request's JSON text to
DynamoDB's Number and back, never a binary float on the way.

DynamoDB stores up to 38 significant digits between 1e-130 and 1e125 (in magnitude); the
arithmetic context here is given as many digits, so that sums of storable numbers are exact.
"""

from __future__ import annotations

import decimal
import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

ZERO = Decimal(0)
ONE = Decimal(1)

MOST_DIGITS = 38
SMALLEST = Decimal("1e-130")
LARGEST = Decimal("1e125")

# Every thread's default, and this one's: the 28 digits Python starts with would round a
# sum of two storable numbers.
decimal.DefaultContext.prec = MOST_DIGITS
decimal.getcontext().prec = MOST_DIGITS


def exact(value: int | float | Decimal) -> Decimal:
    """A number as the decimal it was written as (a float by its shortest repr)."""
    if isinstance(value, Decimal):
        return value
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def storable_problem(value: Decimal) -> str | None:
    """Why DynamoDB could not store `value` as a Number, or None if it can."""
    if not value.is_finite():
        return "must be a finite number"
    if value.is_zero():
        return None
    digits = len(value.normalize(decimal.Context(prec=10_000)).as_tuple().digits)
    if digits > MOST_DIGITS:
        return f"must have at most {MOST_DIGITS} significant digits"
    if abs(value) < SMALLEST:
        return "must be 0 or at least 1e-130 in magnitude"
    if abs(value) > LARGEST:
        return "must be at most 1e125 in magnitude"
    return None


def text(value: int | Decimal) -> str:
    """The shortest exact text of a number, in JSON's and DynamoDB's syntax (no "1.0")."""
    if isinstance(value, int):
        return str(value)
    if value.is_zero():
        return "0"
    if value == value.to_integral_value() and value.adjusted() < MOST_DIGITS:
        return str(int(value))
    return str(value.normalize(decimal.Context(prec=10_000)))


def loads(data: str | bytes, parse_constant: Callable[[str], Any] | None = None) -> Any:
    """JSON with its numbers with a fraction or exponent read as exact decimals."""
    return json.loads(data, parse_float=Decimal, parse_constant=parse_constant)


def dumps(value: Any) -> str:
    """JSON text where a decimal is written as a number, exactly (the stdlib cannot)."""
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts)


def _write(value: Any, parts: list[str]) -> None:
    if value is None or isinstance(value, str | bool | float):
        parts.append(json.dumps(value))
    elif isinstance(value, int | Decimal):
        parts.append(text(value))
    elif isinstance(value, Mapping):
        parts.append("{")
        for i, (key, item) in enumerate(value.items()):
            parts.append("," if i else "")
            parts.append(json.dumps(str(key)) + ":")
            _write(item, parts)
        parts.append("}")
    elif isinstance(value, list | tuple):
        parts.append("[")
        for i, item in enumerate(value):
            parts.append("," if i else "")
            _write(item, parts)
        parts.append("]")
    else:
        raise TypeError(f"cannot write a {type(value).__name__} as JSON")
