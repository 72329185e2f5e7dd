"""Each row of the README's fault matrix names the test that backs it, and that test exists
(a test function of tests/reliability/)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]


def fault_matrix_rows() -> list[list[str]]:
    """The table of the README's "Fault matrix" section, a list of cells per row."""
    text = (_ROOT / "README.md").read_text()
    section = text.split("\n## Fault matrix\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header, _rule, *rows = lines
    assert [cell.strip() for cell in header.strip("|").split("|")][-1] == "test"
    return [[cell.strip() for cell in row.strip().strip("|").split("|")] for row in rows]


def reliability_tests() -> set[str]:
    found = set()
    for path in (_ROOT / "tests" / "reliability").glob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                found.add(node.name)
    return found


def test_every_row_of_the_fault_matrix_names_an_existing_test() -> None:
    rows = fault_matrix_rows()
    tests = reliability_tests()

    assert len(rows) >= 15, "the table was found"
    for row in rows:
        named = re.fullmatch(r"`(test_\w+)`", row[-1])
        assert named is not None, f"a row without its test: {row}"
        assert named.group(1) in tests, f"no test {named.group(1)} in tests/reliability/"


def test_every_fault_matrix_test_has_a_row() -> None:
    named = {row[-1].strip("`") for row in fault_matrix_rows()}
    matrix = {
        name
        for name in reliability_tests()
        if name.endswith(("_at_every_step", "_at_every_write", "_at_every_stripe_call"))
    }

    assert matrix <= named, f"fault matrix tests missing from the README: {matrix - named}"
