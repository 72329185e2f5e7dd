"""Opaque page cursors: a DynamoDB key of string attributes, base64 JSON to the caller."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from typing import Any

from billing.domain.errors import InvalidRequest
from billing.store.table import Item


def encode(key: Mapping[str, Any]) -> str:
    plain = {name: value["S"] for name, value in key.items()}
    return base64.urlsafe_b64encode(json.dumps(plain, sort_keys=True).encode()).decode()


def decode(cursor: str, attributes: set[str], ours: Callable[[dict[str, str]], bool]) -> Item:
    """The key a cursor holds, if it has exactly `attributes` and `ours` recognises it."""
    try:
        plain = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(plain, dict) or set(plain) != attributes:
            raise ValueError("unexpected cursor shape")
        if not all(isinstance(v, str) for v in plain.values()) or not ours(plain):
            raise ValueError("not a cursor of this listing")
    except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError) as error:
        raise invalid() from error
    return {name: {"S": value} for name, value in plain.items()}


def invalid() -> InvalidRequest:
    return InvalidRequest(
        "The cursor is not one this API returned.",
        details=[{"field": "start_cursor", "message": "not a valid cursor"}],
    )
