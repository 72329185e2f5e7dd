"""Sizes in `shared/billing/`: no module over 400 lines and no function over 60, so each
can be read at once."""

from __future__ import annotations

from pathlib import Path

from local.template import ROOT
from tests.shape import line_count, long_functions

_PACKAGE = ROOT / "shared" / "billing"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _modules() -> dict[str, Path]:
    return {path.relative_to(_PACKAGE).as_posix(): path for path in _PACKAGE.rglob("*.py")}


def long_modules(limit: int = MAX_MODULE_LINES) -> set[str]:
    return {name for name, path in _modules().items() if line_count(path) > limit}


def test_no_module_is_over_400_lines() -> None:
    assert long_modules() == set(), "split these by concern"


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
