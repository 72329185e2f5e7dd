"""Checks every 2xx answer the local stack's API sends during a test: against Autumn's
published OpenAPI document (conformance.py), against the response model the Python
`autumn-sdk` parses that answer with, and against the zod schema autumn-js parses it with
(js_models.py). Installed on the stack's HTTP API by tests/conftest.py;
what it finds fails the test that received the answer."""

from __future__ import annotations

import functools
import json
import re
import threading
from pathlib import Path
from typing import Any

import autumn_sdk
from autumn_sdk import models
from pydantic import TypeAdapter, ValidationError

from tests.compat.autumn_openapi.conformance import published_answers
from tests.compat.autumn_openapi.js_models import js_models

# In the SDK's generated operations: the path of a request, then each status it parses and
# the model it parses that status with.
_OPERATION = re.compile(r'path="(/v1/[^"]+)"(.*?)(?=path="|\Z)', re.S)
_PARSED = re.compile(
    r'match_response\(http_res, "(\d+)", "application/json"\):\s*'
    r"return unmarshal_json_response\(\s*models\.(\w+)",
    re.S,
)


@functools.cache
def sdk_models() -> dict[tuple[str, str], str]:
    """(path, status) -> the name of the model autumn-sdk parses that answer with."""
    found: dict[tuple[str, str], str] = {}
    for source in Path(autumn_sdk.__file__).parent.glob("*.py"):
        for path, body in _OPERATION.findall(source.read_text()):
            for status, name in _PARSED.findall(body):
                found.setdefault((path, status), name)
    return found


@functools.cache
def sdk_model(path: str, status: str) -> TypeAdapter[Any] | None:
    """The SDK's model for this answer, built once, when first needed."""
    name = sdk_models().get((path, status))
    return None if name is None else TypeAdapter(_model(name))


# autumn-sdk 1.2.0's modules for features.create and features.update raise NameError at
# import (see tests/compat/test_autumn_sdk_features.py); their answers are a feature, as
# features.get's, whose model imports.
_UNLOADABLE = {
    "CreateFeatureResponse": "GetFeatureResponse",
    "UpdateFeatureResponse": "GetFeatureResponse",
}


def _model(name: str) -> Any:
    try:
        return getattr(models, name)
    except NameError:
        return getattr(models, _UNLOADABLE[name])


# What the parsers are given when an answer is not JSON (no SDK model accepts a string).
_NOT_JSON = "<not JSON>"


class AnswerChecks:
    """What the answers received since the last `take` do not match, one line each."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._problems: list[str] = []

    def observe(self, method: str, path: str, status: int, payload: bytes) -> None:
        if not 200 <= status < 300 or method != "POST" or not path.startswith("/v1/"):
            return
        try:
            found = self._check(path, status, payload)
        except Exception as error:  # a checker's own failure is a finding, never a 500
            found = [f"{path} {status}: the check itself failed: {error!r}"]
        if found:
            with self._lock:
                self._problems.extend(found)

    def take(self) -> list[str]:
        with self._lock:
            found, self._problems = self._problems, []
        return found

    @staticmethod
    def _check(path: str, status: int, payload: bytes) -> list[str]:
        document = published_answers()
        model = sdk_model(path, str(status))
        try:
            body = json.loads(payload)
        except ValueError:
            body = _NOT_JSON
        js_found = js_models().problems(path, status, body)
        if not document.covers(path) and model is None and js_found is None:
            return []  # one of our own routes: neither Autumn's document nor its SDKs have it
        if body is _NOT_JSON:
            return [f"{path} {status}: the answer is not JSON"]
        found = [
            f"{path} {status} (Autumn's OpenAPI document) {problem}"
            for problem in document.problems(path, status, body)
        ]
        if model is not None:
            try:
                model.validate_python(body)
            except ValidationError as error:
                found.extend(
                    f"{path} {status} (autumn-sdk model) {_where(e['loc'])}: {e['msg']}"
                    for e in error.errors()[:10]
                )
        found.extend(f"{path} {status} (autumn-js model) {line}" for line in js_found or [])
        return found


def _where(loc: tuple[Any, ...]) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)
