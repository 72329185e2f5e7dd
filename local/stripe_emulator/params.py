"""Validation of decoded form parameters, shared by all resources.

Form values arrive as strings; these helpers turn them into typed values and raise
Stripe's 400 errors (``parameter_unknown``, ``parameter_invalid_integer``...) otherwise.
An empty string is Stripe's way of saying "set this to null".
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal

from local.stripe_emulator.errors import StripeError, invalid_param, missing_param, unknown_param
from local.stripe_emulator.forms import FormValue, Params

# Accepted by every endpoint; only the expansions a resource implements (see prices)
# change a response, others keep ids in place.
COMMON = frozenset({"expand"})

METADATA_MAX_KEYS = 50
METADATA_MAX_KEY_LENGTH = 40
METADATA_MAX_VALUE_LENGTH = 500

# Stripe's ``*_decimal`` amounts: plain notation, at most 12 decimal places. This also
# refuses ``1E-7``, which is what the SDK sends for ``Decimal("0.0000001")``.
_DECIMAL = re.compile(r"\d+(?:\.\d{1,12})?")


def reject_unknown(
    params: Mapping[str, FormValue], allowed: Collection[str], prefix: str = ""
) -> None:
    for name in params:
        if name not in allowed and name not in COMMON:
            raise unknown_param(f"{prefix}[{name}]" if prefix else name)


def string(params: Params, name: str, *, max_length: int = 5000) -> str:
    value = params[name]
    if not isinstance(value, str):
        raise invalid_param(name, f"Invalid string: {value!r}", "parameter_invalid_string")
    if len(value) > max_length:
        raise invalid_param(
            name, f"Invalid string: must be at most {max_length} characters long", "string_length"
        )
    return value


def nullable_string(params: Params, name: str, *, max_length: int = 5000) -> str | None:
    return string(params, name, max_length=max_length) or None


def integer(
    params: Params, name: str, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    raw = string(params, name)
    try:
        value = int(raw)
    except ValueError:
        raise invalid_param(name, f"Invalid integer: {raw}", "parameter_invalid_integer") from None
    if minimum is not None and value < minimum:
        raise invalid_param(name, f"This value must be greater than or equal to {minimum}.")
    if maximum is not None and value > maximum:
        raise invalid_param(name, f"This value must be less than or equal to {maximum}.")
    return value


def non_empty_string(params: Params, name: str, *, max_length: int = 5000) -> str:
    """A string that cannot be unset, where ``""`` is refused rather than meaning null."""
    value = string(params, name, max_length=max_length)
    if not value:
        raise invalid_param(
            name,
            f"You passed an empty string for '{name}'. We assume empty values are an attempt "
            f"to unset a parameter; however '{name}' cannot be unset. You should remove "
            f"'{name}' from your request or supply a non-empty value.",
            "parameter_invalid_empty",
        )
    return value


def boolean(params: Params, name: str) -> bool:
    value = string(params, name)
    if value not in ("true", "false"):
        raise invalid_param(name, f"Invalid boolean: {value}")
    return value == "true"


def decimal(params: Params, name: str) -> Decimal:
    """A non-negative decimal amount, normalised so ``"1.50"`` and ``"1.5"`` are equal."""
    raw = string(params, name)
    if not _DECIMAL.fullmatch(raw):
        raise invalid_param(
            name, f"Invalid decimal: {raw} (use at most 12 decimal places, no exponent)"
        )
    return Decimal(raw).normalize()


def choice(params: Params, name: str, choices: Collection[str]) -> str:
    value = string(params, name)
    if value not in choices:
        expected = ", ".join(sorted(choices))
        raise invalid_param(name, f"Invalid {name}: must be one of {expected}")
    return value


def string_list(params: Params, name: str) -> list[str]:
    value = params[name]
    if value == "":
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise invalid_param(name, f"Invalid array: {name}")
    return [item for item in value if isinstance(item, str)]


def hash_or_null(params: Params, name: str) -> Params | None:
    """A nested hash parameter; ``name=""`` means null."""
    value = params[name]
    if value == "":
        return None
    if not isinstance(value, dict):
        raise invalid_param(name, f"Invalid hash: {name}", "parameter_invalid_hash")
    return value


def string_hash(params: Params, name: str, fields: Collection[str]) -> dict[str, str | None] | None:
    """A flat hash of optional strings such as ``address``, with every field present."""
    raw = hash_or_null(params, name)
    if raw is None:
        return None
    reject_unknown(raw, fields, prefix=name)
    return {field: nullable_string(raw, field) if field in raw else None for field in fields}


def apply_metadata(current: Mapping[str, str], raw: FormValue) -> dict[str, str]:
    """Stripe's merge semantics: keys merge, ``""`` unsets a key, ``metadata=""`` clears all."""
    if raw == "":
        return {}
    if isinstance(raw, list):
        # ``metadata[0]=x`` decodes as an array; for metadata the indices are just keys.
        raw = {str(index): item for index, item in enumerate(raw)}
    if not isinstance(raw, dict):
        raise invalid_param(
            "metadata", "Invalid metadata: must be a hash", "parameter_invalid_hash"
        )
    merged = dict(current)
    for key, value in raw.items():
        param = f"metadata[{key}]"
        if not isinstance(value, str):
            raise invalid_param(param, f"Invalid string: metadata values must be strings ({key})")
        if len(key) > METADATA_MAX_KEY_LENGTH:
            raise invalid_param(
                param, f"Metadata keys can have up to {METADATA_MAX_KEY_LENGTH} characters."
            )
        if len(value) > METADATA_MAX_VALUE_LENGTH:
            raise invalid_param(
                param, f"Metadata values can have up to {METADATA_MAX_VALUE_LENGTH} characters."
            )
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(merged) > METADATA_MAX_KEYS:
        raise invalid_param("metadata", f"Metadata can have up to {METADATA_MAX_KEYS} keys.")
    return merged


@contextmanager
def nested(prefix: str) -> Iterator[None]:
    """Name errors raised while validating a nested hash by their full parameter path.

    Lets the plain helpers above validate ``recurring`` or ``tiers[2]`` as if it were a
    top-level request, while the error still says ``recurring[interval]``.
    """
    try:
        yield
    except StripeError as error:
        if error.param is None or error.param.startswith(f"{prefix}["):
            raise
        head, bracket, rest = error.param.partition("[")
        param = f"{prefix}[{head}]{bracket}{rest}"
        if error.code == "parameter_missing":
            # That message quotes the parameter, so rebuild it rather than patch it.
            raise missing_param(param) from None
        error.param = param
        raise
