"""Checks our answers against Autumn's published OpenAPI document (responses.json, see
README.md): the JSON body of a 2xx answer against the schema the document gives that path
and status. A path the document does not have (our own routes) is not checked."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SCHEMAS = Path(__file__).resolve().parent / "responses.json"
_BASE = "urn:autumn-openapi"


@functools.cache
def published_answers() -> PublishedAnswers:
    return PublishedAnswers(json.loads(SCHEMAS.read_text()))


class PublishedAnswers:
    def __init__(self, document: dict[str, Any]) -> None:
        self.commit: str = document["commit"]
        self.paths: dict[str, dict[str, Any]] = document["paths"]
        resource: Resource[Any] = DRAFT202012.create_resource(document)
        self._registry: Registry[Any] = Registry().with_resource(_BASE, resource)
        # One validator per path and status, built when first needed and kept: the
        # per-answer cost is the validation alone.
        self._validators: dict[tuple[str, str], Draft202012Validator | None] = {}
        self._components: dict[str, Any] = document["components"]["schemas"]
        self._compiled: dict[str, Check] = {}  # component name -> its quick check
        self._quick: dict[tuple[str, str], Check] = {}
        self.checked: dict[str, int] = {}  # path -> answers checked

    def compile_all(self) -> int:
        """Builds every path's quick check (a test's way to be sure each one builds)."""
        for path, by_status in self.paths.items():
            for status, schema in by_status.items():
                self._quick[(path, status)] = self._compile(schema)
        return len(self._quick)

    def covers(self, path: str) -> bool:
        return path in self.paths

    def problems(self, path: str, status: int, body: Any) -> list[str]:
        """What in ``body`` (the JSON answer of ``path`` with ``status``) the document does not
        allow, one line each; none for a path or status the document does not describe."""
        validator = self._validator(path, str(status))
        if validator is None:
            return []
        self.checked[path] = self.checked.get(path, 0) + 1
        key = (path, str(status))
        quick = self._quick.get(key)
        if quick is None:
            quick = self._quick[key] = self._compile(self.paths[path][str(status)])
        if quick(body):
            return []
        # Only a mismatch pays for jsonschema, which says where and why.
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        if not errors:
            return ["$: the quick check refused what jsonschema accepts (a bug of the check)"]
        return [_describe(error) for error in errors]

    def _validator(self, path: str, status: str) -> Draft202012Validator | None:
        key = (path, status)
        if key not in self._validators:
            schema = self.paths.get(path, {}).get(status)
            self._validators[key] = (
                None
                if schema is None
                else Draft202012Validator(
                    {"$ref": f"{_BASE}#/paths/{_pointer(path)}/{status}"},
                    registry=self._registry,
                )
            )
        return self._validators[key]

    def _compile(self, schema: Any) -> Check:
        """The same verdict as jsonschema's for the keywords the document uses, as nested
        closures built once: nearly every answer matches, and this is many times faster."""
        if isinstance(schema, bool):
            return _anything if schema else _nothing
        if not schema:
            return _anything
        checks: list[Check] = []
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            checks.append(self._reference(name))
        if "anyOf" in schema:
            options = [self._compile(option) for option in schema["anyOf"]]
            checks.append(lambda v: any(option(v) for option in options))
        if "const" in schema:
            checks.append(_one_of([schema["const"]]))
        if "enum" in schema:
            checks.append(_one_of(schema["enum"]))
        if "type" in schema:
            kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            tests = [_TYPES[kind] for kind in kinds]
            checks.append(lambda v: any(test(v) for test in tests))
        checks.extend(_bounds(schema))
        if "items" in schema:
            item = self._compile(schema["items"])
            checks.append(lambda v: not isinstance(v, list) or all(item(i) for i in v))
        if {"properties", "required", "additionalProperties", "propertyNames"} & set(schema):
            checks.append(self._object(schema))
        return lambda v: all(check(v) for check in checks)

    def _object(self, schema: dict[str, Any]) -> Check:
        properties = {n: self._compile(s) for n, s in schema.get("properties", {}).items()}
        required = tuple(schema.get("required", ()))
        extra = self._compile(schema.get("additionalProperties", True))
        names = self._compile(schema.get("propertyNames", True))

        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return True
            if any(name not in value for name in required):
                return False
            return all(
                names(name) and properties.get(name, extra)(item) for name, item in value.items()
            )

        return check

    def _reference(self, name: str) -> Check:
        # Resolved when first used: components may refer to each other.
        return lambda value: self._component(name)(value)

    def _component(self, name: str) -> Check:
        check = self._compiled.get(name)
        if check is None:
            check = self._compiled[name] = self._compile(self._components[name])
        return check


Check = Callable[[Any], bool]


def _anything(value: Any) -> bool:
    return True


def _nothing(value: Any) -> bool:
    return False


def _same(value: Any, expected: Any) -> bool:
    # JSON equality: true is not 1, 1.0 is 1.
    if isinstance(value, bool) or isinstance(expected, bool):
        return type(value) is type(expected) and value == expected
    return bool(value == expected)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_TYPES: dict[str, Check] = {
    "array": lambda v: isinstance(v, list),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: _number(v) and float(v).is_integer(),
    "null": lambda v: v is None,
    "number": _number,
    "object": lambda v: isinstance(v, dict),
    "string": lambda v: isinstance(v, str),
}


def _one_of(options: list[Any]) -> Check:
    return lambda value: any(_same(value, option) for option in options)


def _bounds(schema: dict[str, Any]) -> list[Check]:
    """Checks of numbers' bounds and strings' lengths (other types pass, as in JSON Schema)."""
    found: list[Check] = []
    for keyword, holds in _BOUNDS.items():
        if keyword in schema:
            found.append(_bound(holds, schema[keyword]))
    return found


def _bound(holds: Callable[[Any, Any], bool], limit: Any) -> Check:
    return lambda value: holds(value, limit)


_BOUNDS: dict[str, Callable[[Any, Any], bool]] = {
    "minimum": lambda v, m: not _number(v) or v >= m,
    "maximum": lambda v, m: not _number(v) or v <= m,
    "exclusiveMinimum": lambda v, m: not _number(v) or v > m,
    "minLength": lambda v, m: not isinstance(v, str) or len(v) >= m,
    "maxLength": lambda v, m: not isinstance(v, str) or len(v) <= m,
}


def _pointer(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def _describe(error: ValidationError) -> str:
    where = "$" + "".join(
        f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path
    )
    if error.validator == "anyOf" and error.context:
        # A nullable or a union: say what each option wanted, briefly.
        reasons = sorted({sub.message for sub in error.context if not sub.absolute_path})
        deeper = [sub for sub in error.context if sub.absolute_path != error.absolute_path]
        if deeper:
            return _describe(min(deeper, key=lambda e: len(list(e.context or ()))))
        return f"{where}: {_short(error.instance)} matches no option ({'; '.join(reasons)})"
    return f"{where}: {error.message[:300]}"


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 120 else text[:117] + "..."
