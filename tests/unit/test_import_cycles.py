"""No import cycle in `shared/billing/` or `local/`: each module's imports form a graph with
no loop, so every module can be read (and imported) after the ones it uses.

Which imports count: every import that runs, at module level or inside a function (a
deferred import hides a loop, it does not remove it), but not those under
`if TYPE_CHECKING:` (never run). The one exception is a deferred import made lazy on purpose
so a cold start does not load something heavy, listed in LAZY_FOR_COLD_START with why.
An arrow `from a.b import c` goes to module `a.b.c` when it is one, else to `a.b`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

from local.template import ROOT

# (importer, imported) arrows made inside a function so a cold start skips what they load.
LAZY_FOR_COLD_START: dict[tuple[str, str], str] = {
    ("billing.stripe_api", "billing.stripe_api.gateway"): (
        "get_gateway loads the stripe SDK only when a request needs Stripe (check, track never do)"
    ),
}

PACKAGES = {"billing": ROOT / "shared", "local": ROOT}


def _modules(base: Path, package: str) -> dict[str, Path]:
    found = {}
    for path in (base / package).rglob("*.py"):
        parts = list(path.relative_to(base).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _run_time_nodes(tree: ast.AST) -> Iterator[tuple[ast.AST, bool]]:
    """Every node of ``tree`` but those under ``if TYPE_CHECKING:``, and whether it is
    inside a function."""

    def walk(node: ast.AST, in_function: bool) -> Iterator[tuple[ast.AST, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and ast.unparse(child.test).endswith("TYPE_CHECKING"):
                continue
            yield child, in_function
            nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            yield from walk(child, nested)

    return walk(tree, False)


def _targets(node: ast.AST, module: str, is_package: bool, known: Mapping[str, Path]) -> set[str]:
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in known}
    if not isinstance(node, ast.ImportFrom):
        return set()
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[: len(package) - node.level + 1]
        source = ".".join([*package, *([node.module] if node.module else [])])
    else:
        source = node.module or ""
    targets = set()
    for alias in node.names:
        if f"{source}.{alias.name}" in known:
            targets.add(f"{source}.{alias.name}")
        elif source in known:
            targets.add(source)
    return targets


def import_graph(base: Path, package: str) -> dict[str, set[str]]:
    """Each module of `package` and the modules of the same package it imports."""
    known = _modules(base, package)
    graph: dict[str, set[str]] = {module: set() for module in known}
    for module, path in known.items():
        is_package = path.name == "__init__.py"
        for node, in_function in _run_time_nodes(ast.parse(path.read_text())):
            for target in _targets(node, module, is_package, known):
                if in_function and (module, target) in LAZY_FOR_COLD_START:
                    continue
                graph[module].add(target)
    return graph


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected parts of the graph that loop (Tarjan's algorithm, iterative so a
    deep chain does not reach the recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                part = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    part.append(member)
                    if member == node:
                        break
                if len(part) > 1 or node in graph[node]:
                    found.append(sorted(part))
    return found


def test_no_import_cycle_in_the_billing_package() -> None:
    assert cycles(import_graph(PACKAGES["billing"], "billing")) == []


def test_no_import_cycle_in_the_local_stack_and_the_stripe_emulator() -> None:
    graph = import_graph(PACKAGES["local"], "local")

    assert cycles(graph) == []
    # The emulator's proration math sits below both of the modules that use it.
    emulator = "local.stripe_emulator"
    below = graph[f"{emulator}.prorations"] | graph[f"{emulator}.pricing"]
    assert {f"{emulator}.invoices", f"{emulator}.subscriptions"}.isdisjoint(below)
    assert f"{emulator}.subscriptions" in graph[f"{emulator}.server"]  # the graph sees imports


def test_the_lazy_imports_allowed_are_made_inside_a_function() -> None:
    # An allowance for a deferred import must not cover the same arrow made at module level.
    for importer, imported in LAZY_FOR_COLD_START:
        path = _modules(PACKAGES["billing"], "billing").get(importer)
        if path is None:
            continue  # moved away: the allowance is stale, and harmless
        tree = ast.parse(path.read_text())
        for node, in_function in _run_time_nodes(tree):
            is_package = path.name == "__init__.py"
            known = _modules(PACKAGES["billing"], "billing")
            if imported in _targets(node, importer, is_package, known):
                assert in_function, f"{importer} imports {imported} at module level"


def test_the_rule_finds_a_loop_through_several_modules_and_passes_a_chain() -> None:
    looped = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    chained = {"a": {"b"}, "b": {"c"}, "c": set(), "d": {"a", "c"}}

    assert cycles(looped) == [["a", "b", "c"]]
    assert cycles(chained) == []
    assert cycles({"a": {"a"}}) == [["a"]]
