"""JSON bodies of the domain's NamedTuple records (holdings, features) in their items.

The text is what pydantic wrote before these were NamedTuples: objects by field name, and
numbers as exact decimal strings, so items written by either read back alike.
"""

import json
from decimal import Decimal
from typing import Any, NamedTuple

from pydantic import BaseModel


def to_json(record: NamedTuple) -> str:
    return json.dumps(plain(record), separators=(",", ":"))


def plain(value: Any) -> Any:
    """`value` as JSON values: records and models as objects, decimals as exact strings."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {name: plain(field) for name, field in value._asdict().items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def as_dict(value: Any) -> Any:
    """`value` with every record in it as a dict by field name; numbers stay as they are."""
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {name: as_dict(field) for name, field in value._asdict().items()}
    if isinstance(value, tuple):
        return tuple(as_dict(v) for v in value)
    return value


def known(record: type[NamedTuple], body: dict[str, Any]) -> dict[str, Any]:
    """The fields of `record` in a stored body (one written by a newer version may hold
    more)."""
    return {name: body[name] for name in record._fields if name in body}
