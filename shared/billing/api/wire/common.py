"""Field types and base classes shared by every wire model."""

import json
import typing
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from billing import clock, numbers
from billing.clock import EARLIEST_EVENT_MS, EVENT_LEAD_MS, LAST_MS


class WireRequest(BaseModel):
    """Strict about types (no "1" for 1) and about fields: one this API does not take is a 400
    naming it (`extra_forbidden`), never dropped, at any depth. A caller who sends Autumn's
    `lock` must learn that nothing was locked."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


NOT_SUPPORTED = "not_supported"
"""The error type of a field given a value this API does not build (see `SdkDefaultOnly`)."""


class SdkDefaultOnly:
    """Marks a field the official SDKs (autumn-sdk, autumn-js) send at its default whether or
    not the caller set it, for a feature not built here: `Annotated[Literal[False],
    SDK_DEFAULT_ONLY] = False`. The default asks for nothing and is taken; any other value is
    a 400 naming the field (`not_supported`), since it would be dropped. Declared in the model,
    so that the API reference shows the one value taken."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        (default,) = typing.get_args(source)
        shown = json.dumps(default)

        def only_the_default(value: Any) -> Any:
            # `type(...) is` too: 0 == False in Python, yet 0 is not the JSON value false.
            if type(value) is not type(default) or value != default:
                raise PydanticCustomError(
                    NOT_SUPPORTED, f"not supported here: only the default, {shown}, is taken"
                )
            return value

        return core_schema.no_info_before_validator_function(only_the_default, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        found = handler(schema)
        found["description"] = (
            "Sent by the official SDKs at its default, the only value taken "
            "(any other is a 400: not supported here)."
        )
        return found


SDK_DEFAULT_ONLY = SdkDefaultOnly()


class WireResponse(BaseModel):
    model_config = ConfigDict(frozen=True)


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


def _printable(value: str) -> str:
    if not value.isprintable():
        raise ValueError("must be printable characters")
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


def _not_far_ahead(value: int) -> int:
    if value > clock.now_ms() + EVENT_LEAD_MS:
        raise ValueError("must not be more than a day ahead of now")
    return value


Count = Annotated[int, BeforeValidator(_whole), Field(ge=1, le=10_000)]
EpochMs = Annotated[int, BeforeValidator(_whole), Field(ge=0, le=LAST_MS)]
EventTime = Annotated[
    int,
    BeforeValidator(_whole),
    Field(ge=EARLIEST_EVENT_MS, le=LAST_MS),
    AfterValidator(_not_far_ahead),
]
"""When a use happened, as a caller sends it (epoch milliseconds)."""
Instant = Annotated[float, BeforeValidator(_float), Field(ge=0)]
Moment = Annotated[Instant, Field(le=LAST_MS)]
"""A bound of a time range to read (epoch milliseconds; SDKs send fractions)."""

Id = Annotated[str, Field(min_length=1, max_length=256), AfterValidator(_no_control_characters)]
IdempotencyKey = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(_printable)]
"""The body's `idempotency_key` (track): the same as the Idempotency-Key header."""
Name = Annotated[Annotated[str, Field(max_length=512)] | None, BeforeValidator(_blank_is_none)]
Email = Annotated[
    Annotated[str, Field(max_length=254), AfterValidator(_looks_like_email)] | None,
    BeforeValidator(_blank_is_none),
]
Text = Annotated[str, Field(max_length=1024)] | None
Url = Annotated[str, Field(min_length=1, max_length=2048, pattern=r"^https?://\S+$")]
"""Where a Stripe page sends the customer back to (an http or https URL)."""
StripeId = Annotated[
    Annotated[str, Field(max_length=255, pattern=r"^cus_\w+$")] | None,
    BeforeValidator(_blank_is_none),
]
# Caller JSON (metadata, properties) is kept and answered back: bounded so that every read of
# it can be stored and serialised (DynamoDB nests at most 32 levels, items at most 400 KB).
MOST_JSON_DEPTH = 32
MOST_JSON_BYTES = 16 * 1024


def json_depth(value: object) -> int:
    """How deeply objects and arrays nest in `value` (a scalar is 0), without recursion."""
    deepest = 0
    pending = [(value, 1)]
    while pending:
        current, level = pending.pop()
        children = (
            current.values()
            if isinstance(current, dict)
            else current
            if isinstance(current, list)
            else None
        )
        if children is None:
            continue
        deepest = max(deepest, level)
        pending.extend((child, level + 1) for child in children)
    return deepest


def _bounded(value: dict[str, Any]) -> dict[str, Any]:
    if json_depth(value) > MOST_JSON_DEPTH:
        raise ValueError(f"must not nest more than {MOST_JSON_DEPTH} levels deep")
    if len(json.dumps(value, separators=(",", ":")).encode()) > MOST_JSON_BYTES:
        raise ValueError(f"must be at most {MOST_JSON_BYTES} bytes as JSON")
    return value


JsonObject = Annotated[dict[str, Any], AfterValidator(_plain_numbers), AfterValidator(_bounded)]
"""A JSON object a caller keeps with us (metadata, event properties): at most 32 levels deep
and 16 KB as JSON."""
Metadata = Annotated[JsonObject, Field(max_length=50)] | None
