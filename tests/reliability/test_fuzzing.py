"""Fuzzing every operation of the API reference with schemathesis, against the local stack.

For each operation, bodies that fit its schema and bodies that break it: no answer is a 5xx,
every answer's status is one the reference documents, a 2xx body fits the documented schema,
every 4xx carries the error body of the API contract, and a rejected request leaves the
table exactly as it was. A bounded budget runs in the suite; FUZZ_EXAMPLES=200 (per operation
and mode) runs a longer one: `FUZZ_EXAMPLES=200 make test-fuzz`.
"""

from __future__ import annotations

import json
import os
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from local import openapi
from local.stack import LocalStack
from tests.conftest import SECRET_KEY, table_items

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))
_SCHEMA = schemathesis.openapi.from_dict(json.loads(openapi.DOCUMENT.read_text()))


def _operations() -> dict[str, Any]:
    found = {}
    for result in _SCHEMA.get_all_operations():
        assert isinstance(result, Ok), "the reference is valid (tests/unit/test_openapi.py)"
        operation = result.ok()
        found[f"{operation.method.upper()} {operation.path}"] = operation
    return found


_OPERATIONS = _operations()


@pytest.fixture
def seeded(api: httpx.Client) -> httpx.Client:
    """A catalog and a customer, so that some fuzzed requests name things that exist."""
    api.post(
        "/v1/features.create",
        json={"feature_id": "messages", "name": "Messages", "type": "metered"},
    ).raise_for_status()
    api.post(
        "/v1/plans.create",
        json={
            "plan_id": "free",
            "name": "Free",
            "items": [{"feature_id": "messages", "included": 100}],
        },
    ).raise_for_status()
    api.post("/v1/customers.get_or_create", json={"customer_id": "c1"}).raise_for_status()
    return api


def _content(body: Any) -> bytes:
    """The body as sent: none, raw bytes as generated, or the value written as JSON."""
    if body is None or type(body).__name__ == "NotSet":
        return b""
    if isinstance(body, bytes):
        return body
    return json.dumps(body).encode()


def _snapshot(stack: LocalStack) -> list[str]:
    return sorted(json.dumps(item, sort_keys=True) for item in table_items(stack))


def _check(
    operation: Any, sent: httpx.Request, answer: httpx.Response, before: list[str], after: list[str]
) -> None:
    where = f"{sent.method} {sent.url.path} {sent.content[:300]!r} -> {answer.status_code}"
    assert answer.status_code < 500, where
    assert str(answer.status_code) in operation.definition.raw["responses"], where
    body = answer.json()
    if answer.is_success:
        schema = operation.definition.raw["responses"][str(answer.status_code)]["content"]
        _validate(body, schema["application/json"]["schema"], where)
        return
    _validate(body, {"$ref": "#/components/schemas/Error"}, where)
    assert after == before, f"a rejected request changed the table: {where}"


def _validate(body: Any, schema: dict[str, Any], where: str) -> None:
    import jsonschema

    document = json.loads(openapi.DOCUMENT.read_text())
    try:
        jsonschema.validate(body, {**schema, "components": document["components"]})
    except jsonschema.ValidationError as error:
        raise AssertionError(f"{where}: {error.message}") from error


@pytest.mark.parametrize("label", sorted(_OPERATIONS))
def test_fuzzed_requests_get_a_documented_answer_and_a_rejected_one_changes_nothing(
    label: str, seeded: httpx.Client, clean_stack: LocalStack
) -> None:
    operation = _OPERATIONS[label]
    strategy = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )
    headers = {"Authorization": f"Bearer {SECRET_KEY}", "Content-Type": "application/json"}

    @settings(
        max_examples=EXAMPLES * 2,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        # The failing request is in the message as sent: shrinking it costs minutes.
        phases=[Phase.explicit, Phase.generate],
    )
    @given(strategy)
    def fuzz(case: Any) -> None:
        content = _content(case.body)
        before = _snapshot(clean_stack)
        answer = seeded.post(case.formatted_path, content=content, headers=headers)
        _check(operation, answer.request, answer, before, _snapshot(clean_stack))

    fuzz()
