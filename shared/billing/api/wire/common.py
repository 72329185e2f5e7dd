"""Field types and base classes shared by every wire model."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field


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
    """SDKs send counts and epoch milliseconds as floats (2.0): a whole float is accepted."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
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


Count = Annotated[int, BeforeValidator(_whole), Field(ge=1, le=10_000)]
EpochMs = Annotated[int, BeforeValidator(_whole), Field(ge=0, le=10**15)]

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
Metadata = Annotated[dict[str, Any], Field(max_length=50)] | None
