"""What the hot handlers' cold start loads: never stripe, boto3 or the catalog's plan rules
(they are for other operations, or for a denied check that asks for a preview)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from local.template import ROOT

KEPT_OUT = ["stripe", "boto3", "billing.domain.plans", "billing.store.catalog"]


@pytest.mark.parametrize("function", ["balances_check", "balances_track"])
def test_the_hot_handlers_import_none_of_the_heavy_or_unneeded_modules(function: str) -> None:
    handler = str(ROOT / "functions" / function / "app.py")
    code = (
        "import importlib.util, json, sys\n"
        f"spec = importlib.util.spec_from_file_location('app', {handler!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        f"print(json.dumps([m for m in {KEPT_OUT!r} if m in sys.modules]))\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "shared"),
        "TABLE_NAME": "imports",
        "API_KEY_HASHES": "0" * 64,
        "STRIPE_SECRET_KEY": "sk_test_imports",
        "POWERTOOLS_SERVICE_NAME": "imports",
    }
    out = subprocess.run(  # noqa: S603 (our own interpreter, a fixed script)
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )

    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
