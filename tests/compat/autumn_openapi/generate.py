"""Regenerates responses.json and requests.json: the answer and request schemas of Autumn's
published OpenAPI document.

    /work/main/.venv/bin/python tests/compat/autumn_openapi/generate.py OPENAPI.yml COMMIT DATE

OPENAPI.yml is `apps/docs/mintlify/api/openapi.yml` of useautumn/autumn (the document its
docs publish) at COMMIT, made on DATE. Kept: every path's JSON answer schema by status, and
the shared component schemas they refer to (responses.json); every path's JSON request body
schema (requests.json, whose references point into responses.json's components); dropped:
prose (descriptions, titles, examples), which validates nothing and would make the copy ten
times larger.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
OUT = HERE / "responses.json"
REQUESTS = HERE / "requests.json"
SOURCE = "useautumn/autumn: apps/docs/mintlify/api/openapi.yml"
# Keywords that describe a schema without constraining it.
PROSE = frozenset({"description", "title", "example", "examples", "deprecated"})


def without_prose(value: Any, naming: bool = False) -> Any:
    """`value` with the prose keywords dropped; under `properties` (naming) the keys are
    property names, which are kept whatever they are called."""
    if isinstance(value, dict):
        return {
            key: without_prose(item, naming=(key == "properties" and not naming))
            for key, item in value.items()
            if naming or (key not in PROSE and not key.startswith("x-"))
        }
    if isinstance(value, list):
        return [without_prose(item) for item in value]
    return value


def answers(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Path -> status -> the JSON answer's schema, for every POST of the document."""
    found: dict[str, dict[str, Any]] = {}
    for path, operations in document["paths"].items():
        operation = operations.get("post")
        if not isinstance(operation, dict):
            continue
        by_status = {
            status: without_prose(response["content"]["application/json"]["schema"])
            for status, response in operation.get("responses", {}).items()
            if "application/json" in response.get("content", {})
        }
        if by_status:
            found[path] = by_status
    return found


def requests(document: dict[str, Any]) -> dict[str, Any]:
    """Path -> the JSON request body's schema, for every POST of the document that takes one."""
    found: dict[str, Any] = {}
    for path, operations in document["paths"].items():
        operation = operations.get("post")
        if not isinstance(operation, dict):
            continue
        content = operation.get("requestBody", {}).get("content", {})
        if "application/json" in content:
            found[path] = without_prose(content["application/json"]["schema"])
    return found


def main(source: Path, commit: str, date: str) -> None:
    document = yaml.safe_load(source.read_text())
    out = {
        "source": SOURCE,
        "commit": commit,
        "commit_date": date,
        "document_version": document["info"]["version"],
        "openapi": document["openapi"],
        "components": {"schemas": without_prose(document["components"]["schemas"])},
        "paths": answers(document),
    }
    OUT.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    asked = {key: out[key] for key in ("source", "commit", "commit_date", "document_version")}
    asked["paths"] = requests(document)
    REQUESTS.write_text(json.dumps(asked, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], sys.argv[3])
