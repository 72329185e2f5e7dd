"""Sizes in `shared/billing/`: no module over 400 lines and no function over 60, so each
can be read at once. The few modules still over are listed with who is splitting them; the
list may only shrink."""

from __future__ import annotations

from pathlib import Path

from local.template import ROOT
from tests.shape import line_count, long_functions

_PACKAGE = ROOT / "shared" / "billing"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60

# Modules over MAX_MODULE_LINES today (paths under shared/billing), each with why it is still
# here.
KNOWN_LONG_MODULES: dict[str, str] = {
    "store/holdings.py": "store: not split yet",
    "store/purchases.py": "store: not split yet",
}


def _modules() -> dict[str, Path]:
    return {path.relative_to(_PACKAGE).as_posix(): path for path in _PACKAGE.rglob("*.py")}


def long_modules(limit: int = MAX_MODULE_LINES) -> set[str]:
    return {name for name, path in _modules().items() if line_count(path) > limit}


def test_no_module_is_over_400_lines_but_the_known_few_being_split() -> None:
    long = long_modules()

    assert long - set(KNOWN_LONG_MODULES) == set(), "a module grew over 400 lines"
    assert set(KNOWN_LONG_MODULES) - long == set(), "split: drop it from KNOWN_LONG_MODULES"


def test_no_function_is_over_60_lines() -> None:
    long = {
        f"{name}: {function}"
        for name, path in _modules().items()
        for function in long_functions(path.read_text(), MAX_FUNCTION_LINES)
    }

    assert long == set()


def test_the_rules_measure_what_they_say() -> None:
    def function(name: str, lines: int, indent: str = "") -> str:
        body = "".join(f"{indent}    x{i} = {i}\n" for i in range(lines - 1))
        return f"{indent}def {name}():\n{body}"

    assert long_functions(function("at_limit", 60), 60) == set()
    assert long_functions(function("over", 61), 60) == {"over (61 lines)"}
    method = "class C:\n" + function("method", 62, "    ")
    assert long_functions(method, 60) == {"method (62 lines)"}
