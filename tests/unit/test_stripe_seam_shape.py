"""The shape of the Stripe seam (`billing.stripe_api`): one module per Stripe resource, each
small enough to read (at most 400 lines, functions of at most 60), and none of them loads
the stripe SDK when imported: services import their data classes at cold start, and only
making a client (`call.connect`) brings the SDK in."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from local.template import ROOT

_SEAM = ROOT / "shared" / "billing" / "stripe_api"
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 60


def _modules() -> list[Path]:
    return sorted(_SEAM.glob("*.py"))


def test_no_module_of_the_stripe_seam_is_over_400_lines() -> None:
    too_long = {
        path.name: lines
        for path in _modules()
        if (lines := len(path.read_text().splitlines())) > MAX_FILE_LINES
    }

    assert too_long == {}


def test_no_function_of_the_stripe_seam_is_over_60_lines() -> None:
    too_long: dict[str, int] = {}
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    too_long[f"{path.name}:{node.lineno} {node.name}"] = lines

    assert too_long == {}


def test_importing_every_module_of_the_stripe_seam_loads_no_stripe_sdk() -> None:
    names = [f"billing.stripe_api.{path.stem}" for path in _modules() if path.stem != "__init__"]
    code = (
        "import importlib, json, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'stripe')))"
    )
    env = {"PYTHONPATH": str(ROOT / "shared"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(  # noqa: S603 (our own interpreter, a fixed script)
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )

    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
