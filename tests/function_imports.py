"""Which modules of the billing package a function's code can run: every module its app.py
imports, and what those import in turn, at module level or inside a function (lazy imports
included: they run when the code needs them). Template tests read from it what a function
may do (call Stripe, publish application events) to check what it is given for it."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

from local.template import ROOT
from tests.unit.test_import_cycles import PACKAGES, _modules, _run_time_nodes, _targets


@cache
def _billing_graph() -> dict[str, frozenset[str]]:
    known = _modules(PACKAGES["billing"], "billing")
    graph = {}
    for module, path in known.items():
        tree = ast.parse(path.read_text())
        is_package = path.name == "__init__.py"
        graph[module] = frozenset(
            target
            for node, _ in _run_time_nodes(tree)
            for target in _targets(node, module, is_package, known)
        )
    return graph


def modules_reached(code_dir: Path) -> set[str]:
    """Every billing module the function in `code_dir` (its app.py) can import."""
    graph = _billing_graph()
    tree = ast.parse((code_dir / "app.py").read_text())
    found: set[str] = set()
    todo = [t for node, _ in _run_time_nodes(tree) for t in _targets(node, "app", False, graph)]
    while todo:
        module = todo.pop()
        if module not in found:
            found.add(module)
            todo += graph[module]
    return found


FUNCTIONS = ROOT / "functions"
