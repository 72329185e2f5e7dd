"""The shape of the local tooling: the Stripe emulator's modules and functions stay small
enough to read (files of at most 600 lines, functions of at most 60), and the modules of
``local/`` import each other without a cycle.

Imports made inside functions count (a deferred import hides a cycle, it does not end it);
imports for type checking only are not run, so they do not count."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import local

_LOCAL = Path(local.__file__).parent
_EMULATOR = _LOCAL / "stripe_emulator"
MAX_FILE_LINES = 600
MAX_FUNCTION_LINES = 60


@cache
def _tree(path: Path) -> ast.Module:
    """A module's syntax tree, parsed once for every test here."""
    return ast.parse(path.read_text())


def _emulator_files() -> list[Path]:
    return sorted(_EMULATOR.rglob("*.py"))


def test_no_emulator_file_is_over_600_lines() -> None:
    too_long = {
        path.name: lines
        for path in _emulator_files()
        if (lines := len(path.read_text().splitlines())) > MAX_FILE_LINES
    }
    assert too_long == {}


def test_no_emulator_function_is_over_60_lines() -> None:
    too_long: dict[str, int] = {}
    for path in _emulator_files():
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    too_long[f"{path.name}:{node.lineno} {node.name}"] = lines
    assert too_long == {}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(_LOCAL.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _run_time_statements(tree: ast.AST) -> Iterator[ast.AST]:
    """Every statement of ``tree`` (imports are statements) but those under
    ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if not isinstance(node, ast.stmt | ast.excepthandler | ast.match_case):
            continue
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            continue
        yield node
        yield from _run_time_statements(node)


def _imported(node: ast.AST, modules: set[str]) -> set[str]:
    """The modules of ``local`` an import statement runs: ``from local.x import y`` runs
    ``local.x.y`` when that is a module, else ``local.x``."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names} & modules
    if not isinstance(node, ast.ImportFrom) or node.level or node.module is None:
        return set()
    found = set()
    for alias in node.names:
        submodule = f"{node.module}.{alias.name}"
        found.add(submodule if submodule in modules else node.module)
    return found & modules


def _local_imports() -> dict[str, set[str]]:
    paths = {_module_name(path): path for path in _LOCAL.rglob("*.py")}
    modules = set(paths)
    graph: dict[str, set[str]] = {}
    for module, path in paths.items():
        statements = _run_time_statements(_tree(path))
        graph[module] = set().union(*(_imported(node, modules) for node in statements))
        graph[module].discard(module)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the modules along it, or None."""
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> list[str] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return None
        for imported in sorted(graph[module]):
            found = visit(imported, [*path, module])
            if found:
                return found
        done.add(module)
        return None

    for module in sorted(graph):
        found = visit(module, [])
        if found:
            return found
    return None


def test_local_modules_import_each_other_without_a_cycle() -> None:
    graph = _local_imports()
    # The checker sees the imports: the emulator's server imports its resources.
    assert "local.stripe_emulator.subscriptions" in graph["local.stripe_emulator.server"]
    assert _cycle(graph) is None
