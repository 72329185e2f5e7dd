"""A billing use case calls the operations it shares with others downward, never another use
case sideways: what two use cases both need lives in an operation module below them."""

from __future__ import annotations

import ast
from pathlib import Path

from local.template import ROOT

_BILLING = ROOT / "shared" / "billing" / "services" / "billing"
_PREFIX = "billing.services.billing."

# The modules a route (or the dashboard) calls; every other module here is an operation.
USE_CASES = {
    "attach",
    "update",
    "preview_attach",
    "preview_update",
    "setup_payment",
    "portal",
    "invoices",
    "audit",
    "enable_plan",
}


def _imported_modules(path: Path) -> set[str]:
    """The modules of services/billing that `path` imports, at module level or in a
    function (`from billing.services.billing import x` and `from ...x import y` alike)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            if node.module == _PREFIX.rstrip("."):
                found.update(alias.name for alias in node.names)
            elif node.module.startswith(_PREFIX):
                found.add(node.module.removeprefix(_PREFIX).split(".")[0])
        elif isinstance(node, ast.Import):
            found.update(
                alias.name.removeprefix(_PREFIX).split(".")[0]
                for alias in node.names
                if alias.name.startswith(_PREFIX)
            )
    return found


def _imports_by_module() -> dict[str, set[str]]:
    return {
        path.stem: _imported_modules(path)
        for path in _BILLING.glob("*.py")
        if path.stem != "__init__"
    }


def test_the_use_cases_listed_are_modules_of_services_billing() -> None:
    assert USE_CASES - set(_imports_by_module()) == set()


def test_no_use_case_imports_another_use_case() -> None:
    sideways = {
        f"{module} -> {imported}"
        for module, imported_modules in _imports_by_module().items()
        if module in USE_CASES
        for imported in imported_modules & USE_CASES
        if imported != module
    }

    assert sideways == set()


def test_no_shared_operation_imports_a_use_case() -> None:
    upward = {
        f"{module} -> {imported}"
        for module, imported_modules in _imports_by_module().items()
        if module not in USE_CASES
        for imported in imported_modules & USE_CASES
    }

    assert upward == set()
