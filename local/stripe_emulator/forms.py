"""Decoding of Stripe's bracketed form encoding (``a[b][0][c]=v``) into nested values."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TypeAlias
from urllib.parse import parse_qsl

FormValue: TypeAlias = "str | dict[str, FormValue] | list[FormValue]"
Params: TypeAlias = "dict[str, FormValue]"

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")


class FormError(ValueError):
    """A key or structure the API cannot interpret; carries the offending key as ``param``."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


def parse_query(query: str) -> Params:
    # keep_blank_values matters: ``metadata[k]=`` is how callers unset a key.
    return decode(parse_qsl(query, keep_blank_values=True))


def decode(pairs: Iterable[tuple[str, str]]) -> Params:
    root: dict[str, _Node] = {}
    for key, value in pairs:
        match = _KEY.match(key)
        if match is None:
            raise FormError(key, f"Invalid parameter name: {key}")
        path = [match.group(1), *_SEGMENT.findall(match.group(2))]
        _assign(root, path, value, key)
    return {name: _finish(node) for name, node in root.items()}


# While building, arrays are dicts keyed by index so that sparse or out-of-order indices
# can be assembled before we know whether the container really is a list.
_Node: TypeAlias = "str | dict[str, _Node]"


def _assign(container: dict[str, _Node], path: list[str], value: str, key: str) -> None:
    for depth, segment in enumerate(path):
        name = str(len(container)) if segment == "" else segment
        if depth == len(path) - 1:
            if isinstance(container.get(name), dict):
                raise FormError(key, f"Invalid value for {key}: expected a hash or array")
            container[name] = value
            return
        child = container.setdefault(name, {})
        if not isinstance(child, dict):
            raise FormError(key, f"Invalid value for {key}: {path[0]} is not a hash or array")
        container = child


def _finish(node: _Node) -> FormValue:
    if isinstance(node, str):
        return node
    # Only a dense 0..n-1 key set is an array; anything else (e.g. metadata keys) stays a hash.
    if node and set(node) == {str(i) for i in range(len(node))}:
        return [_finish(node[str(i)]) for i in range(len(node))]
    return {k: _finish(v) for k, v in node.items()}
