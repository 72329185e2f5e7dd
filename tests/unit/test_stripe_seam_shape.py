"""The Stripe seam (`billing.stripe_api`, one module per Stripe resource) loads no stripe SDK
when imported: services import its data classes at cold start, and only making a client
(`call.connect`) brings the SDK in. (Its sizes are checked with the rest of `shared/billing`
by `test_module_size.py`.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from local.template import ROOT

_SEAM = ROOT / "shared" / "billing" / "stripe_api"


def _modules() -> list[Path]:
    return sorted(_SEAM.glob("*.py"))


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
