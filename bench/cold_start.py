"""Cold-start import time of the hot handlers, as a ratio to the library floor: botocore + the
Powertools HTTP resolver + pydantic building one model, each in fresh interpreters.

Measured on the Python that Lambda runs (template.yaml's runtime, in `.venv-lambda`, which
`make bench` builds when that Python is on the machine), where the target applies, and on the
development interpreter for comparison: class creation and imports differ between versions."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

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


def interpreters() -> list[tuple[str, str]]:
    """(label, path) of each Python to measure on, the Lambda runtime's first."""
    found = []
    lambda_python = ROOT / ".venv-lambda" / "bin" / "python"
    if lambda_python.exists():
        found.append(("Lambda runtime", str(lambda_python)))
    found.append(("development", sys.executable))
    return found


def _version(python: str) -> str:
    out = subprocess.run(
        [python, "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


class Measure(NamedTuple):
    code: str
    # False: our bytecode is dropped first, as on the first start after a build without it.
    bytecode: bool = True
    # Run first, untimed: what `code` adds to it is what is measured.
    before: str = ""


def least_seconds(measures: dict[str, Measure], python: str) -> dict[str, float]:
    """The least wall time of each measure over RUNS rounds, each in a fresh interpreter.
    Noise on a shared machine only ever adds time, and it comes in bursts: each round runs
    every measure once, so a burst slows all of them alike rather than one."""
    least = dict.fromkeys(measures, float("inf"))
    # Those with our bytecode first, then those without (each dropping it again: a run from
    # source writes it back).
    in_order = sorted(measures.items(), key=lambda named: not named[1].bytecode)
    for _ in range(RUNS):
        _compile_ours(python)
        for name, measure in in_order:
            least[name] = min(least[name], _seconds(measure, python))
    _compile_ours(python)
    return least


def _seconds(measure: Measure, python: str) -> float:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "shared"),
        "TABLE_NAME": "bench",
        "API_KEY_HASHES": "0" * 64,
        "STRIPE_SECRET_KEY": "sk_test_bench",
        "POWERTOOLS_SERVICE_NAME": "bench",
        "PYDANTIC_DISABLE_PLUGINS": "__all__",  # as template.yaml deploys it
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if not measure.bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        _drop_our_bytecode()
    timer = (
        f"{measure.before}\nimport time\nstart = time.perf_counter()\n{measure.code}\n"
        "print(time.perf_counter() - start)"
    )
    out = subprocess.run([python, "-c", timer], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def _drop_our_bytecode() -> None:
    for folder in [
        *(ROOT / "shared").rglob("__pycache__"),
        *(ROOT / "functions").rglob("__pycache__"),
    ]:
        shutil.rmtree(folder, ignore_errors=True)


def report() -> list[str]:
    lines = []
    for label, python in interpreters():
        lines += [f"Python {_version(python)} ({label})", *_report_on(python)]
    return lines


def _report_on(python: str) -> list[str]:
    """A handler's import is the floor plus what our code adds on top of it. The addition is
    measured by itself, after the floor's imports (untimed) in the same interpreter: as the
    difference of two noisy totals it would be no steadier than their noise."""
    hot = ("balances_check", "balances_track")
    measures = {"baseline": Measure(BASELINE), "floor": Measure(PYDANTIC_FLOOR)}
    for function in hot:
        code = handler_import(function)
        measures[function] = Measure(code, before=PYDANTIC_FLOOR)
        measures[f"{function} from source"] = Measure(code, bytecode=False, before=PYDANTIC_FLOOR)
    least = least_seconds(measures, python)
    baseline, floor = least["baseline"], least["floor"]
    lines = [
        f"  baseline: botocore + Powertools resolver     {baseline * 1000:7.1f} ms",
        f"  floor: baseline + pydantic and one model     {floor * 1000:7.1f} ms ="
        f" {floor / baseline:4.2f}x",
    ]
    for function in hot:
        compiled, source = least[function], least[f"{function} from source"]
        lines.append(
            f"  {function:16} with bytecode  floor + {compiled * 1000:5.1f} ms ="
            f" {1 + compiled / floor:4.2f}x of the floor (target <= {TARGET:.2f}x)"
            f"   from source  floor + {source * 1000:5.1f} ms = {1 + source / floor:4.2f}x"
        )
    return lines


def _compile_ours(python: str) -> None:
    subprocess.run(
        [python, "-m", "compileall", "-q", str(ROOT / "shared"), str(ROOT / "functions")],
        check=True,
    )
