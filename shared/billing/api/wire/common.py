"""Field types and base classes shared by every wire model."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from billing import numbers


class WireRequest(BaseModel):
    """Strict about types (no "1" for 1), lenient about unknown fields (newer SDKs send more)."""

    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)


class WireResponse(BaseModel):
    model_config = ConfigDict(frozen=True)


class SuccessResponse(WireResponse):
    """The answer of routes that only confirm (deletes, balance changes)."""

    success: bool


def _absent(value: object) -> bool:
    return value is None


def omitted_when_none() -> Any:
    """A response field left out of the JSON when it has no value (optional in the SDKs)."""
    return Field(default=None, exclude_if=_absent)


def _whole(value: Any) -> Any:
    """SDKs send counts and epoch milliseconds as floats (2.0): a whole number is accepted."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        # Bounded first: int() of 1e999999999 would build a billion digits.
        return int(value) if value.adjusted() < 20 else value
    return value


def _decimal(value: Any) -> Any:
    """JSON numbers arrive as int or Decimal (the body parser reads fractions exactly)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return numbers.exact(value)
    return value


def _storable(value: Decimal) -> Decimal:
    problem = numbers.storable_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _float(value: Any) -> Any:
    """For moments given in milliseconds, where a float is exact enough."""
    return float(value) if isinstance(value, Decimal) else value


def _plain_numbers(value: Any) -> Any:
    """Free-form JSON (metadata, properties) keeps JSON's own numbers: int or float."""
    if isinstance(value, Decimal):
        number = float(value)
        if number in (float("inf"), float("-inf")):
            raise ValueError("numbers must be finite")
        return number
    if isinstance(value, dict):
        return {k: _plain_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_numbers(v) for v in value]
    return value


def _no_control_characters(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    if any(not ch.isprintable() for ch in value):
        raise ValueError("must not contain control characters")
    return value


def _blank_is_none(value: Any) -> Any:
    """SDKs send "" for an unset name or email; it means the same as leaving it out."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _looks_like_email(value: str) -> str:
    email = value.strip()
    local, at, domain = email.rpartition("@")
    labels = domain.split(".")
    well_formed = at and local and len(labels) >= 2 and all(labels)
    if not well_formed or any(ch.isspace() for ch in email):
        raise ValueError("must be an email address")
    return email


# Any number DynamoDB can store, exactly as written.
Number = Annotated[Decimal, BeforeValidator(_decimal), AfterValidator(_storable)]
# A quantity of a feature (a use, a grant, a balance): at most 1e12 and 20 decimal places,
# so that balances add up exactly within DynamoDB's 38 digits.
Quantity = Annotated[Number, Field(ge=Decimal("-1e12"), le=Decimal("1e12"), decimal_places=20)]
NonNegativeQuantity = Annotated[Quantity, Field(ge=0)]

Count = Annotated[int, BeforeValidator(_whole), Field(ge=1, le=10_000)]
EpochMs = Annotated[int, BeforeValidator(_whole), Field(ge=0, le=10**15)]
Instant = Annotated[float, BeforeValidator(_float), Field(ge=0)]
Moment = Annotated[Instant, Field(le=1e15)]

Id = Annotated[str, Field(min_length=1, max_length=256), AfterValidator(_no_control_characters)]
Name = Annotated[Annotated[str, Field(max_length=512)] | None, BeforeValidator(_blank_is_none)]
Email = Annotated[
    Annotated[str, Field(max_length=254), AfterValidator(_looks_like_email)] | None,
    BeforeValidator(_blank_is_none),
]
Text = Annotated[str, Field(max_length=1024)] | None
StripeId = Annotated[
    Annotated[str, Field(max_length=255, pattern=r"^cus_\w+$")] | None,
    BeforeValidator(_blank_is_none),
]
Metadata = Annotated[dict[str, Any], Field(max_length=50), AfterValidator(_plain_numbers)] | None
FreeForm = Annotated[dict[str, Any], AfterValidator(_plain_numbers)]
