"""Drives the autumn-js SDK (through node) against the local stack, for the compat tests.

The package is installed in tests/compat/js/ from its committed lockfile the first time a
session needs it; every call then runs in one node process per `calls()`.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

JS_DIR = Path(__file__).parent / "js"


def install() -> None:
    """`npm ci` once per machine (node_modules is not committed); test workers take turns."""
    with open(JS_DIR / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (JS_DIR / "node_modules" / "autumn-js" / "package.json").exists():
            return
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is needed for the autumn-js compat tests")
        subprocess.run(  # noqa: S603 (npm from PATH, fixed arguments)
            [npm, "ci", "--no-audit", "--no-fund"], cwd=JS_DIR, check=True, capture_output=True
        )


class CallFailed(AssertionError):
    """The SDK threw: an HTTP error, or an answer its zod schemas reject."""


@dataclass
class AutumnJs:
    server_url: str
    secret_key: str
    # Every x-api-version header the SDK has sent so far.
    api_versions: set[str | None] = field(default_factory=set)

    def calls(self, *calls: tuple[str, dict[str, Any]]) -> list[dict[str, Any]]:
        """Each call's outcome: {"ok": True, "value": ...} or {"ok": False, "error": ...}."""
        request = {
            "server_url": self.server_url,
            "secret_key": self.secret_key,
            "calls": [{"method": method, "args": args} for method, args in calls],
        }
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node is needed for the autumn-js compat tests")
        done = subprocess.run(  # noqa: S603 (node from PATH, our own driver script)
            [node, str(JS_DIR / "driver.mjs")],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"the autumn-js driver failed: {done.stderr}")
        answer = json.loads(done.stdout)
        self.api_versions.update(answer["api_versions"])
        outcomes: list[dict[str, Any]] = answer["results"]
        return outcomes

    def values(self, *calls: tuple[str, dict[str, Any]]) -> list[Any]:
        """The values of several calls in one node process; every one must succeed."""
        outcomes = self.calls(*calls)
        for (method, _), outcome in zip(calls, outcomes, strict=True):
            if not outcome["ok"]:
                raise CallFailed(f"{method} failed: {json.dumps(outcome['error'], indent=1)}")
        return [outcome["value"] for outcome in outcomes]

    def call(self, method: str, **args: Any) -> Any:
        """The value of one call, which must succeed."""
        (outcome,) = self.calls((method, args))
        if not outcome["ok"]:
            raise CallFailed(f"{method} failed: {json.dumps(outcome['error'], indent=1)}")
        return outcome["value"]

    def error(self, method: str, **args: Any) -> dict[str, Any]:
        """The error of one call, which must fail."""
        (outcome,) = self.calls((method, args))
        assert not outcome["ok"], f"{method} succeeded: {outcome['value']}"
        error: dict[str, Any] = outcome["error"]
        return error
