"""The API reference: an OpenAPI 3.1 document generated from the handlers and their wire models.

Nothing in it is written by hand. Each route is read from its handler's source: the path from
`@app.post(...)`, the request model from `parse(Model, ...)`, and every answer from the
`ok(...)` calls (the model built, or the return type of the function that builds it). The
schemas are pydantic's, with decimals written as JSON numbers, as the API writes them.

    make openapi                                 # rewrites local/openapi.json
    PYTHONPATH=.:shared .venv/bin/python -m local.openapi --check  # exit 1 if stale
"""

from __future__ import annotations

import ast
import importlib
import json
import sys
import typing
from dataclasses import dataclass, field
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, models_json_schema
from pydantic_core import core_schema

from local.template import ROOT

DOCUMENT = ROOT / "local" / "openapi.json"
_FUNCTIONS = ROOT / "functions"

# The error answers every application route may give, with the API contract's error body.
_ERRORS = {
    "400": "The request is invalid; `details` names the field.",
    "401": "The API key is missing or wrong.",
    "404": "Something the request names does not exist.",
    "409": "The request conflicts with what exists.",
    "413": "The body is too large.",
    "423": "Another change to the same customer is under way; retry.",
    "502": "Stripe could not be reached or failed; safe to retry.",
}


@dataclass
class Route:
    method: str
    path: str
    summary: str
    request: type[BaseModel] | None
    answers: dict[int, type[BaseModel]] = field(default_factory=dict)


class _NumbersAsNumbers(GenerateJsonSchema):
    """Decimals travel as JSON numbers in both directions (the body parser reads them exactly)."""

    def decimal_schema(self, schema: core_schema.DecimalSchema) -> dict[str, Any]:
        return {"type": "number"}

    def encode_default(self, dft: Any) -> Any:
        if isinstance(dft, Decimal):
            # Whole defaults only, so the document states them exactly as a JSON integer.
            if dft != dft.to_integral_value():
                raise ValueError(f"a fractional default ({dft}) cannot be written exactly")
            return int(dft)
        return super().encode_default(dft)


def routes() -> list[Route]:
    found = [
        route for handler in sorted(_FUNCTIONS.glob("*/app.py")) for route in _routes_of(handler)
    ]
    return sorted(found, key=lambda route: route.path)


def _routes_of(handler: Path) -> list[Route]:
    tree = ast.parse(handler.read_text())
    imports = _imported_names(tree)
    local_functions = {
        node.name: node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)
    }
    summary = (ast.get_docstring(tree) or "").split("\n", 1)[0]
    found = []
    for function in local_functions.values():
        for decorator in function.decorator_list:
            if not _is_route(decorator):
                continue
            assert isinstance(decorator, ast.Call)
            assert isinstance(decorator.func, ast.Attribute)
            path = decorator.args[0]
            assert isinstance(path, ast.Constant)
            assert isinstance(path.value, str)
            route = Route(decorator.func.attr, path.value, summary.split(": ", 1)[-1], None)
            for call in _calls(function):
                name = _called_name(call)
                if name == "parse" and call.args and isinstance(call.args[0], ast.Name):
                    route.request = _model(imports[call.args[0].id])
                elif name == "ok" and call.args:
                    status = _status(call)
                    resolved = _answer_model(call.args[0], function, imports, local_functions)
                    route.answers[status] = resolved
            found.append(route)
    return found


def _is_route(decorator: ast.expr) -> bool:
    return (
        isinstance(decorator, ast.Call)
        and isinstance(decorator.func, ast.Attribute)
        and decorator.func.attr in {"get", "post"}
        and isinstance(decorator.func.value, ast.Name)
        and decorator.func.value.id == "app"
        and bool(decorator.args)
    )


def _imported_names(tree: ast.Module) -> dict[str, Any]:
    """Every name the handler imports from the billing package, anywhere in it."""
    names: dict[str, Any] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("billing"):
            module = importlib.import_module(str(node.module))
            for alias in node.names:
                names[alias.asname or alias.name] = getattr(module, alias.name)
    return names


def _calls(function: ast.FunctionDef) -> list[ast.Call]:
    return [node for node in ast.walk(function) if isinstance(node, ast.Call)]


def _called_name(call: ast.Call) -> str | None:
    return call.func.id if isinstance(call.func, ast.Name) else None


def _status(call: ast.Call) -> int:
    given = [k.value for k in call.keywords if k.arg == "status"] + call.args[1:2]
    if given and isinstance(given[0], ast.Constant) and isinstance(given[0].value, int):
        return given[0].value
    return 200


def _answer_model(
    expr: ast.expr,
    function: ast.FunctionDef,
    imports: dict[str, Any],
    local_functions: dict[str, ast.FunctionDef],
) -> type[BaseModel]:
    """The model an `ok(...)` argument builds: a model's constructor, a builder function (its
    return type), a local function (its annotation), or a variable assigned one of those."""
    if isinstance(expr, ast.Name):
        for node in ast.walk(function):
            if isinstance(node, ast.Assign) and any(
                isinstance(target, ast.Name) and target.id == expr.id for target in node.targets
            ):
                return _answer_model(node.value, function, imports, local_functions)
        raise LookupError(f"cannot tell what {expr.id!r} holds in {function.name}")
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name):
        name = expr.func.id
        if name in local_functions:
            returns = local_functions[name].returns
            assert returns is not None, f"{name} needs a return annotation"
            annotation = (
                returns.value if isinstance(returns, ast.Constant) else ast.unparse(returns)
            )
            return _model(imports[str(annotation)])
        built = imports[name]
        if isinstance(built, type):
            return _model(built)
        return _model(typing.get_type_hints(built)["return"])
    raise LookupError(f"cannot tell what {ast.unparse(expr)} answers")


def _model(value: Any) -> type[BaseModel]:
    if not (isinstance(value, type) and issubclass(value, BaseModel)):
        raise TypeError(f"{value!r} is not a wire model")
    return value


def document() -> dict[str, Any]:
    found = routes()
    wanted: list[tuple[tuple[type[BaseModel], JsonSchemaMode], JsonSchemaMode]] = []
    for route in found:
        if route.request is not None:
            wanted.append(((route.request, "validation"), "validation"))
        wanted += [((model, "serialization"), "serialization") for model in route.answers.values()]
    keys, schemas = models_json_schema(
        [pair for pair, _ in dict.fromkeys(wanted)],
        ref_template="#/components/schemas/{model}",
        schema_generator=_NumbersAsNumbers,
    )
    components = dict(schemas.get("$defs", {}))
    components["Error"] = _error_schema()
    paths: dict[str, Any] = {}
    for route in found:
        operation: dict[str, Any] = {
            "operationId": route.path.strip("/").replace("/", "_").replace(".", "_"),
            "summary": route.summary,
            "responses": {
                str(status): {
                    "description": "The answer.",
                    "content": {"application/json": {"schema": keys[(model, "serialization")]}},
                }
                for status, model in sorted(route.answers.items())
            },
        }
        if route.request is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": keys[(route.request, "validation")]}},
            }
        if route.path.startswith("/v1/"):
            # Either one: a deployment answers to the one its ApiAuth parameter chose.
            operation["security"] = [{"apiKey": []}, {"awsSigV4": []}]
        operation["responses"].update(
            {
                status: {
                    "description": why,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                }
                for status, why in _ERRORS.items()
                # Stripe's webhook route proves its caller by signature, not by API key.
                if status != "401" or route.path.startswith("/v1/")
            }
        )
        paths.setdefault(route.path, {})[route.method] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Billing layer over Stripe",
            "version": "1",
            "description": "Wire-compatible with Autumn's public API (see the README).",
        },
        "paths": paths,
        "components": {
            "schemas": dict(sorted(components.items())),
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A secret key (ApiAuth=key, the default).",
                },
                "awsSigV4": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": (
                        "ApiAuth=iam: the request signed with AWS Signature Version 4 for "
                        "the service execute-api, by a principal allowed execute-api:Invoke "
                        "on the route; API Gateway answers 403 to any other."
                    ),
                },
            },
        },
    }


def _error_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string"},
            "message": {"type": "string"},
            "details": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["field", "message"],
                    "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                },
            },
        },
    }


def reference_page(spec: dict[str, Any]) -> str:
    """The document as one HTML page: each operation, what it takes and what it answers."""
    schemas = spec["components"]["schemas"]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>API reference</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;",
        "padding:0 1rem;color:#1a1a1a}code{background:#f3f3f3;padding:0 .2rem}",
        "table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ddd;",
        "padding:.2rem .5rem;text-align:left;vertical-align:top}</style></head><body>",
        f"<h1>{escape(spec['info']['title'])}: API reference</h1>",
        f"<p>{escape(spec['info']['description'])} The same document as JSON: ",
        "<a href='/openapi.json'>/openapi.json</a>.</p>",
    ]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            parts.append(f"<h2 id='{escape(operation['operationId'])}'>")
            parts.append(f"<code>{method.upper()} {escape(path)}</code></h2>")
            parts.append(f"<p>{escape(operation['summary'])}</p>")
            body = operation.get("requestBody")
            if body is not None:
                parts += _fields_table(_schema_of(body, schemas), schemas)
            answers = [
                f"<code>{status}</code> {escape(_type_text(_schema_of(answer, {})))}"
                for status, answer in operation["responses"].items()
            ]
            parts.append(f"<p>Answers: {', '.join(answers)}</p>")
    parts.append("<h2>Schemas</h2>")
    for name, schema in schemas.items():
        parts.append(f"<h3 id='{escape(name)}'>{escape(name)}</h3>")
        parts += _fields_table(schema, schemas)
    parts.append("</body></html>")
    return "".join(parts)


def _schema_of(body: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """A request's or answer's JSON schema, its reference followed when `schemas` has it."""
    schema: dict[str, Any] = body["content"]["application/json"]["schema"]
    name = schema.get("$ref", "").rsplit("/", 1)[-1]
    found: dict[str, Any] = schemas.get(name, schema)
    return found


def _fields_table(schema: dict[str, Any], schemas: dict[str, Any]) -> list[str]:
    fields = schema.get("properties", {})
    if not fields:
        return []
    required = set(schema.get("required", []))
    rows = ["<table><tr><th>field</th><th>type</th><th>required</th></tr>"]
    for name, field_schema in fields.items():
        rows.append(
            f"<tr><td><code>{escape(name)}</code></td>"
            f"<td>{escape(_type_text(field_schema))}</td>"
            f"<td>{'yes' if name in required else ''}</td></tr>"
        )
    rows.append("</table>")
    return rows


def _type_text(schema: dict[str, Any]) -> str:
    """A schema in a few words: `integer`, `array of Item`, `string or null`."""
    if "$ref" in schema:
        return str(schema["$ref"].rsplit("/", 1)[1])
    for union in ("anyOf", "oneOf"):
        if union in schema:
            return " or ".join(_type_text(choice) for choice in schema[union])
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(value) for value in schema["enum"])
    if "const" in schema:
        return json.dumps(schema["const"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {_type_text(schema.get('items', {}))}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"map of {_type_text(schema['additionalProperties'])}"
    return str(kind)


def rendered() -> str:
    return json.dumps(document(), indent=2, sort_keys=False) + "\n"


def main(argv: list[str]) -> int:
    text = rendered()
    if "--check" in argv:
        if DOCUMENT.read_text() != text:
            print(f"{DOCUMENT} is stale: run .venv/bin/python -m local.openapi", file=sys.stderr)
            return 1
        return 0
    DOCUMENT.write_text(text)
    print(f"wrote {DOCUMENT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
