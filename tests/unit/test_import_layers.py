"""Imports in the `billing` package run one way: down the layers, never up. Imports made
inside functions count (a deferred import hides an upward arrow, it does not remove it);
imports for type checking only are not run, so they do not count."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from local.template import ROOT

_PACKAGE_ROOT = ROOT / "shared"

# Each area of the package and its layer: an area may import its own layer's modules and
# those of any lower layer, except the siblings listed in _SIBLINGS_APART.
LAYERS: dict[str, int] = {
    "numbers": 0,
    "clock": 0,
    # Logs, metrics and traces: Powertools only, so every layer may record through it.
    "observability": 0,
    "domain": 1,
    "config": 2,
    "store": 3,
    "stripe_api": 3,
    "sqs": 3,
    "track_queue": 3,
    "purge_queue": 3,
    "services": 4,
    "api": 5,
    "dashboard": 6,
}
# Areas of one layer that must not lean on each other: the store keeps DynamoDB and the
# Stripe seam keeps Stripe, and neither knows the other.
_SIBLINGS_APART = {("store", "stripe_api"), ("stripe_api", "store")}

# Known arrows that run the wrong way, each with why it is still here. The house-folding
# issue moves these; the list may only shrink.
KNOWN_WRONG_WAY: dict[str, str] = {}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(_PACKAGE_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _area(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "billing"


def _run_time_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node of ``tree`` but those under ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            continue
        yield node
        yield from _run_time_nodes(node)


def _imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name.startswith("billing.")]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module is not None:
        if node.module == "billing":
            return [f"billing.{alias.name}" for alias in node.names]
        if node.module.startswith("billing."):
            return [node.module]
    return []


def _arrows() -> set[str]:
    """Every import from one area of the package into another, as "importer -> imported"."""
    arrows: set[str] = set()
    for path in (_PACKAGE_ROOT / "billing").rglob("*.py"):
        importer = _module_name(path)
        for node in _run_time_nodes(ast.parse(path.read_text())):
            for imported in _imported(node):
                if _area(importer) != _area(imported):
                    arrows.add(f"{importer} -> {imported}")
    return arrows


def _wrong_way(arrow: str) -> bool:
    importer, imported = (_area(module) for module in arrow.split(" -> "))
    if (importer, imported) in _SIBLINGS_APART:
        return True
    return LAYERS[imported] > LAYERS[importer]


def test_every_area_of_the_package_has_a_layer() -> None:
    areas = {_area(_module_name(path)) for path in (_PACKAGE_ROOT / "billing").rglob("*.py")}

    assert areas - {"billing"} == set(LAYERS)


def test_imports_run_down_the_layers_except_the_known_few_listed_with_a_reason() -> None:
    wrong_way = {arrow for arrow in _arrows() if _wrong_way(arrow)}

    assert wrong_way - set(KNOWN_WRONG_WAY) == set(), "an import runs up the layers"
    assert set(KNOWN_WRONG_WAY) - wrong_way == set(), "fixed: drop it from KNOWN_WRONG_WAY"


def test_the_rule_catches_an_upward_import_and_lets_a_downward_one_pass() -> None:
    assert _wrong_way("billing.domain.plans -> billing.services.billing.attach")
    assert _wrong_way("billing.store.table -> billing.stripe_api.gateway")
    assert not _wrong_way("billing.services.billing.attach -> billing.domain.plans")
    assert not _wrong_way("billing.api.wire.check -> billing.domain.usage")
