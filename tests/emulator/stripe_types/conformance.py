"""Checks emulator answers against Stripe's published types (schemas.json, see README.md).

Every JSON body is checked by its ``object`` field (``deleted: true`` selects the deleted
form), a body without one as an error envelope; list items and an event's ``data.object`` are
checked by their own ``object`` too. Missing required properties, wrong types or enum values
and properties Stripe's types do not have are all failures.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError

SCHEMAS = Path(__file__).resolve().parent / "schemas.json"


@functools.cache
def published_types() -> PublishedTypes:
    return PublishedTypes(json.loads(SCHEMAS.read_text()))


class PublishedTypes:
    def __init__(self, schemas: dict[str, Any]) -> None:
        self.api_version: str = schemas["api_version"]
        self.npm_version: str = schemas["stripe_npm_version"]
        self.objects: dict[str, str] = schemas["objects"]
        self.event_objects: dict[str, str] = schemas["event_objects"]
        self._definitions: dict[str, Any] = schemas["definitions"]
        self._validators: dict[str, jsonschema.Draft7Validator] = {}
        self.checked: dict[str, int] = {}  # definition -> objects checked against it

    def problems(self, body: Any, where: str = "$") -> list[str]:
        """What in ``body`` (a whole answer) does not match Stripe's types, one line each."""
        if isinstance(body, dict) and "object" not in body and "error" in body:
            return self._error_envelope(body, where)
        return list(self._check_object(body, where))

    def _error_envelope(self, body: dict[str, Any], where: str) -> list[str]:
        found = [f"{where}.{key}: not in Stripe's error envelope" for key in body if key != "error"]
        return found + list(self._against("StripeRawError", body["error"], f"{where}.error"))

    def _check_object(self, value: Any, where: str) -> Iterator[str]:
        if not isinstance(value, dict) or not isinstance(value.get("object"), str):
            yield f"{where}: expected a Stripe object with an `object` field, got {_show(value)}"
            return
        kind = value["object"] + (":deleted" if value.get("deleted") is True else "")
        definition = self.objects.get(kind)
        if definition is None:
            yield f"{where}: object {kind!r} is none of the types the emulator serves"
            return
        yield from self._against(definition, value, where)
        if value["object"] in ("list", "search_result") and isinstance(value.get("data"), list):
            for index, item in enumerate(value["data"]):
                yield from self._check_object(item, f"{where}.data[{index}]")
        if value["object"] == "event":
            yield from self._check_event(value, where)

    def _check_event(self, event: dict[str, Any], where: str) -> Iterator[str]:
        data = event.get("data")
        if not isinstance(data, dict):
            return
        carried = data.get("object")
        yield from self._check_object(carried, f"{where}.data.object")
        expected = self.event_objects.get(str(event.get("type")))
        if expected is None or not isinstance(carried, dict):
            return
        kind = str(carried.get("object")) + (":deleted" if carried.get("deleted") is True else "")
        if self.objects.get(kind) != expected and self.objects.get(kind.split(":")[0]) != expected:
            yield (
                f"{where}.data.object: a {event['type']} event carries a {expected}, "
                f"got object {carried.get('object')!r}"
            )
        previous = data.get("previous_attributes")
        properties = self._definitions[expected].get("properties", {})
        for key, value in previous.items() if isinstance(previous, dict) else ():
            if key not in properties:
                yield f"{where}.data.previous_attributes.{key}: {expected} has no such property"
            elif not _partial(value) and not self._fits(properties[key], value):
                # A previous value is the field as it was (only a hash's changed keys).
                schema = {"definitions": self._definitions, **properties[key]}
                errors = jsonschema.Draft7Validator(schema).iter_errors(value)
                at = f"{where}.data.previous_attributes.{key}"
                for error in sorted(errors, key=lambda e: list(e.absolute_path)):
                    for line in _describe(error, at, expected):
                        yield f"{line} [{expected}.{key}]"

    def _against(self, definition: str, value: Any, where: str) -> Iterator[str]:
        self.checked[definition] = self.checked.get(definition, 0) + 1
        if self._fits({"$ref": f"#/definitions/{definition}"}, value):
            return
        # Only a mismatch pays for jsonschema, which says where and why.
        validator = self._validators.get(definition)
        if validator is None:
            schema = {"definitions": self._definitions, "$ref": f"#/definitions/{definition}"}
            validator = jsonschema.Draft7Validator(schema)
            self._validators[definition] = validator
        errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        if not errors:
            yield f"{where}: the quick check refused what jsonschema accepts [{definition}]"
        for error in errors:
            for line in _describe(error, where, definition):
                yield f"{line} [{definition}]"

    def _fits(self, schema: Any, value: Any) -> bool:
        """The same verdict as jsonschema's (draft 7) for the keywords generate.py writes,
        many times faster, since nearly every answer matches."""
        if isinstance(schema, bool):
            return schema
        if "$ref" in schema:
            return self._fits(self._definitions[schema["$ref"].rsplit("/", 1)[-1]], value)
        if "anyOf" in schema:
            return any(self._fits(option, value) for option in schema["anyOf"])
        if "not" in schema:
            return not self._fits(schema["not"], value)
        if "const" in schema:
            return _same(value, schema["const"])
        if "enum" in schema:
            return any(_same(value, option) for option in schema["enum"])
        kind = schema.get("type")
        if kind is not None and not _TYPES[kind](value):
            return False
        if "pattern" in schema and isinstance(value, str):
            return _pattern(schema["pattern"]).search(value) is not None
        if isinstance(value, list) and "items" in schema:
            return all(self._fits(schema["items"], item) for item in value)
        if isinstance(value, dict):
            properties = schema.get("properties", {})
            if any(name not in value for name in schema.get("required", ())):
                return False
            extra = schema.get("additionalProperties", True)
            for name, item in value.items():
                if not self._fits(properties.get(name, extra), item):
                    return False
        return True


def _partial(value: Any) -> bool:
    """A hash inside previous_attributes lists only the keys that changed; null stands for
    a field that was not there."""
    return value is None or (isinstance(value, dict) and "object" not in value)


def _same(value: Any, expected: Any) -> bool:
    # JSON Schema equality: true is not 1.
    return type(value) is type(expected) and value == expected


@functools.cache
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _is_integer(value: Any) -> bool:
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, int) and not isinstance(value, bool)


_TYPES: dict[str, Callable[[Any], bool]] = {
    "array": lambda v: isinstance(v, list),
    "boolean": lambda v: isinstance(v, bool),
    "integer": _is_integer,
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "string": lambda v: isinstance(v, str),
}


def _describe(error: ValidationError, where: str, definition: str) -> list[str]:
    if error.validator == "anyOf" and error.context:
        # A union (nullable, or an expandable id-or-object): explain by the option the value
        # was meant to be (the one it has the right type for), not "valid under none".
        branches: dict[int, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
        meant = [
            errors
            for errors in branches.values()
            if not any(
                e.validator in ("type", "const", "enum", "not")
                and len(e.absolute_path) == len(error.absolute_path)
                for e in errors
            )
        ]
        if meant:
            closest = min(meant, key=len)
            return [line for e in closest for line in _describe(e, where, definition)]
        options = " | ".join(_option(s) for s in error.validator_value)
        unserved = [str(e.schema.get("description")) for e in error.context if e.validator == "not"]
        why = "".join(f"; {reason}" for reason in unserved)
        return [f"{_path(where, error)}: expected {options}, got {_show(error.instance)}{why}"]
    if error.validator == "additionalProperties":
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - allowed)
        return [f"{_path(where, error)}: {', '.join(extra)} not in Stripe's type"]
    if error.validator == "required":
        return [f"{_path(where, error)}: missing required {error.message.split(' ')[0]}"]
    if error.validator == "not":
        return [f"{_path(where, error)}: {error.schema.get('description', 'not allowed')}"]
    expected = json.dumps(error.validator_value)
    shown = _show(error.instance)
    return [f"{_path(where, error)}: expected {error.validator} {expected}, got {shown}"]


def _path(where: str, error: ValidationError) -> str:
    parts = [f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path]
    return where + "".join(parts)


def _option(schema: Any) -> str:
    if not isinstance(schema, dict):
        return str(schema)
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "const" in schema:
        return json.dumps(schema["const"])
    if "enum" in schema:
        return "one of " + json.dumps(schema["enum"])
    return str(schema.get("type", "any"))


def _show(value: Any) -> str:
    shown = json.dumps(value, default=str)
    return shown if len(shown) <= 120 else shown[:117] + "..."
