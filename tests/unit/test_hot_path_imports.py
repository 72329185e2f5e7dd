"""What the hot handlers' cold start loads: never stripe, boto3 or the catalog's plan rules
(they are for other operations, or for a denied check that asks for a preview), and only the
pydantic models of their own boundary (each costs about 1 ms to define)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from local.template import ROOT

KEPT_OUT = ["stripe", "boto3", "billing.domain.plans", "billing.store.catalog"]

# The request, its answers and the balance, grant and flag shapes they embed, the wire bases
# and the settings. The domain values check and track read and compute (customers, holdings,
# features, deductions, a grant's price and reset terms) are NamedTuples.
MOST_PYDANTIC_MODELS = 9


@pytest.mark.parametrize("function", ["balances_check", "balances_track"])
def test_the_hot_handlers_import_none_of_the_heavy_or_unneeded_modules(function: str) -> None:
    code = _import(function) + f"print(json.dumps([m for m in {KEPT_OUT!r} if m in sys.modules]))"

    assert json.loads(_run(code)) == []


@pytest.mark.parametrize("function", ["balances_check", "balances_track"])
def test_the_hot_handlers_define_only_the_pydantic_models_of_their_boundary(
    function: str,
) -> None:
    code = (
        "from pydantic import BaseModel\n" + _import(function) + "def subclasses(cls):\n"
        "    return [c for s in cls.__subclasses__() for c in [s, *subclasses(s)]]\n"
        "ours = {f'{c.__module__}.{c.__qualname__}' for c in subclasses(BaseModel)}\n"
        "print(json.dumps(sorted(m for m in ours if m.startswith('billing.'))))"
    )

    defined = json.loads(_run(code))

    assert len(defined) <= MOST_PYDANTIC_MODELS, defined


def _import(function: str) -> str:
    handler = str(ROOT / "functions" / function / "app.py")
    return (
        "import importlib.util, json, sys\n"
        f"spec = importlib.util.spec_from_file_location('app', {handler!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
    )


def _run(code: str) -> str:
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
    return out.stdout.strip().splitlines()[-1]
