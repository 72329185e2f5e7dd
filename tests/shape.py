"""Measures of source size shared by the shape tests (`tests/unit/test_module_size.py` for
`shared/billing`, `tests/unit/test_emulator_shape.py` for the Stripe emulator)."""

from __future__ import annotations

import ast
from pathlib import Path


def line_count(path: Path) -> int:
    return len(path.read_text().splitlines())


def long_functions(source: str, limit: int) -> set[str]:
    """Functions (and methods) of `source` longer than `limit` lines, as "name (n lines)"."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            assert node.end_lineno is not None
            lines = node.end_lineno - node.lineno + 1
            if lines > limit:
                found.add(f"{node.name} ({lines} lines)")
    return found
