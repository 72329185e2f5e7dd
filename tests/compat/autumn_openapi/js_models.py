"""Parses answers with autumn-js's own response models (its zod schemas), through one node
process per test process (tests/compat/js/parse_answers.mjs), started when first needed.

autumn-js validates every answer it receives and throws on a shape its schema refuses, so an
answer the Python SDK and Autumn's document accept can still break a JavaScript application:
the after-answer check (recorder.py) asks this parser too."""

from __future__ import annotations

import atexit
import functools
import json
import shutil
import subprocess
import threading
from typing import Any

from tests.compat.js_sdk import JS_DIR, install

# A session's first answer waits for node to load the SDK (about a second); later ones are a
# pipe round trip and a zod parse (well under a millisecond).
_PARSER = JS_DIR / "parse_answers.mjs"


class JsModels:
    """One node process that parses answers with the schema autumn-js uses for their path."""

    def __init__(self) -> None:
        install()
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node is needed to parse answers with autumn-js's models")
        self._lock = threading.Lock()
        self._process = subprocess.Popen(  # noqa: S603 (node from PATH, our own script)
            [node, str(_PARSER)],
            cwd=JS_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        if self._process.stdin is None or self._process.stdout is None:
            raise RuntimeError("the autumn-js answer parser has no pipes")
        self._stdin, self._stdout = self._process.stdin, self._process.stdout
        atexit.register(self.close)

    def problems(self, path: str, status: int, body: Any) -> list[str] | None:
        """What autumn-js's model for this path and status refuses in ``body``, one line each;
        None when autumn-js has no model for it (one of our own routes)."""
        request = json.dumps({"path": path, "status": status, "body": body}) + "\n"
        with self._lock:
            self._stdin.write(request)
            self._stdin.flush()
            line = self._stdout.readline()
        if not line:
            raise RuntimeError("the autumn-js answer parser has exited")
        answer = json.loads(line)
        if not answer["known"]:
            return None
        found: list[str] = answer["problems"]
        return found

    def close(self) -> None:
        if self._process.poll() is None:
            self._stdin.close()
            self._process.wait(timeout=30)


@functools.cache
def js_models() -> JsModels:
    return JsModels()
