"""Cold-start import time of the hot handlers, as a ratio to the library floor: botocore + the
Powertools HTTP resolver + pydantic building one model, each in fresh interpreters."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 15
# ARCHITECTURE.md: the hot handlers import within this much of the library floor.
TARGET = 1.10

BASELINE = (
    "import botocore.session\n"
    "from aws_lambda_powertools.event_handler import APIGatewayHttpResolver"
)
# The least any handler validating with pydantic can cost: the baseline, pydantic, one model.
PYDANTIC_FLOOR = BASELINE + "\nfrom pydantic import BaseModel\nclass One(BaseModel):\n    x: int"


def handler_import(function: str) -> str:
    path = str(ROOT / "functions" / function / "app.py")
    return (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('app', {path!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "assert 'stripe' not in sys.modules, 'the hot path must not import stripe'\n"
    )


def seconds_to_import(code: str, bytecode: bool) -> float:
    """The least wall time of `code` in a fresh interpreter over RUNS runs: noise on a
    shared machine only ever adds time, so the minimum is the steadiest estimate."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "shared"),
        "TABLE_NAME": "bench",
        "API_KEY_HASHES": "0" * 64,
        "STRIPE_SECRET_KEY": "sk_test_bench",
        "POWERTOOLS_SERVICE_NAME": "bench",
        "PYDANTIC_DISABLE_PLUGINS": "__all__",  # as template.yaml deploys it
    }
    if not bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    timer = f"import time\nstart = time.perf_counter()\n{code}\nprint(time.perf_counter() - start)"
    samples = []
    for _ in range(RUNS):
        if not bytecode:
            _drop_our_bytecode()
        out = subprocess.run(
            [sys.executable, "-c", timer], env=env, capture_output=True, text=True, check=True
        )
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return min(samples)


def _drop_our_bytecode() -> None:
    for folder in [
        *(ROOT / "shared").rglob("__pycache__"),
        *(ROOT / "functions").rglob("__pycache__"),
    ]:
        shutil.rmtree(folder, ignore_errors=True)


def report() -> list[str]:
    _compile_ours()
    baseline = seconds_to_import(BASELINE, bytecode=True)
    floor = seconds_to_import(PYDANTIC_FLOOR, bytecode=True)
    lines = [
        f"baseline: botocore + Powertools resolver     {baseline * 1000:7.1f} ms",
        f"floor: baseline + pydantic and one model     {floor * 1000:7.1f} ms ="
        f" {floor / baseline:4.2f}x",
    ]
    for function in ("balances_check", "balances_track"):
        # Compiled afresh each time: the measure from source before it dropped the bytecode.
        _compile_ours()
        compiled = seconds_to_import(handler_import(function), bytecode=True)
        source = seconds_to_import(handler_import(function), bytecode=False)
        lines.append(
            f"{function:16} with bytecode {compiled * 1000:7.1f} ms = {compiled / floor:4.2f}x"
            f" of the floor (target <= {TARGET:.2f}x)   from source {source * 1000:7.1f} ms"
            f" = {source / floor:4.2f}x"
        )
    _compile_ours()
    return lines


def _compile_ours() -> None:
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "shared"), str(ROOT / "functions")],
        check=True,
    )
