"""The README's quick start runs as written: its Python (autumn-sdk) and Node (autumn-js)
blocks, taken from README.md, run against the local stack with the sample catalog; the test
plays the newcomer who pays on the Checkout page with 4242 and presses Enter. Only the
address and the key are the test stack's (`make dev`'s are fixed)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from local.catalog import push
from local.stack import DEFAULT_SECRET_KEY, LocalStack
from local.template import ROOT
from tests.compat.js_sdk import JS_DIR
from tests.conftest import SECRET_KEY

pytestmark = pytest.mark.slow

README = ROOT / "README.md"
DEV_API_URL = "http://127.0.0.1:8787"
MAX_LINES = 40


def quick_start() -> str:
    text = README.read_text()
    start = text.index("## Quick start\n")
    end = text.index("\n## ", start + 1)
    return text[start:end].rstrip() + "\n"


def block(language: str) -> str:
    (code,) = re.findall(rf"```{language}\n(.*?)```", quick_start(), flags=re.DOTALL)
    return code


@pytest.fixture
def sample_stack(clean_stack: LocalStack) -> LocalStack:
    push(ROOT / "local" / "catalog.yaml", clean_stack.api_url, SECRET_KEY)
    return clean_stack


def run_as_a_newcomer(command: list[str], code: str, stack: LocalStack, cwd: Path) -> list[str]:
    """Runs the block, pays the Checkout page it prints with 4242, presses Enter; its lines."""
    assert DEV_API_URL in code
    assert DEFAULT_SECRET_KEY in code
    script = code.replace(DEV_API_URL, stack.api_url).replace(DEFAULT_SECRET_KEY, SECRET_KEY)
    process = subprocess.Popen(  # noqa: S603 (our interpreters, the README's own code)
        [*command, script],
        cwd=cwd,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        if line.startswith("Pay at "):
            url = line.split()[2]
            paid = httpx.post(url, data={"card_number": "4242424242424242"}, timeout=120)
            assert paid.status_code == 303
            process.stdin.write("\n")  # Enter (communicate closes stdin)
            break
    rest, errors = process.communicate(timeout=120)
    assert process.returncode == 0, errors
    return lines + rest.splitlines()


def assert_the_whole_journey(lines: list[str], stack: LocalStack) -> None:
    allowed, pay, plan, portal, renewal = lines
    assert allowed in ("True", "true")  # Python prints True, Node true
    assert pay.startswith(f"Pay at {stack.stripe_url}/c/pay/")
    plan_id, status, remaining = plan.split()
    assert (plan_id, status, Decimal(remaining)) == ("pro", "active", 1000)
    assert portal.startswith(f"{stack.stripe_url}/p/session/")
    assert Decimal(renewal) == 20


def test_the_quick_start_fits_in_40_lines() -> None:
    assert len(quick_start().splitlines()) < MAX_LINES


def test_the_readme_quick_start_in_python_runs_as_written(sample_stack: LocalStack) -> None:
    lines = run_as_a_newcomer([sys.executable, "-c"], block("python"), sample_stack, ROOT)

    assert_the_whole_journey(lines, sample_stack)


def test_the_readme_quick_start_in_node_runs_as_written(
    autumn_js_installed: None, sample_stack: LocalStack, tmp_path: Path
) -> None:
    # Where `npm install autumn-js` would have put it: beside the script.
    (tmp_path / "node_modules").symlink_to(JS_DIR / "node_modules")
    node = ["node", "--input-type=module", "-e"]

    lines = run_as_a_newcomer(node, block("js"), sample_stack, tmp_path)

    assert_the_whole_journey(lines, sample_stack)
