"""The emulator's modules import each other without a cycle, counting the imports made
inside functions too (a deferred import hides a cycle, it does not end it); imports for
type checking only are not run, so they do not count."""

import ast
from collections.abc import Iterator
from pathlib import Path

import local.stripe_emulator

_PACKAGE = "local.stripe_emulator"
_ROOT = Path(local.stripe_emulator.__file__).parent


def _imports() -> dict[str, set[str]]:
    modules = {path.stem for path in _ROOT.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for path in _ROOT.glob("*.py"):
        found: set[str] = set()
        for node in _run_time_nodes(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom) or node.module is None:
                continue
            if node.module == _PACKAGE:
                found |= {alias.name for alias in node.names}
            elif node.module.startswith(f"{_PACKAGE}."):
                found.add(node.module.split(".")[2])
        graph[path.stem] = (found & modules) - {path.stem}
    return graph


def _run_time_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node of ``tree`` but those under ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            continue
        yield node
        yield from _run_time_nodes(node)


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


def test_the_emulator_modules_import_each_other_without_a_cycle():
    graph = _imports()
    assert _cycle(graph) is None
    # The proration math sits below both of the modules that use it.
    assert {"invoices", "subscriptions"}.isdisjoint(graph["prorations"] | graph["pricing"])
