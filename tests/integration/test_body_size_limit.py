"""Bodies over the documented limit (256 KiB, README "API") answer 413 with the API's error
body through the local stack, and change nothing; a body at the limit is read."""

from __future__ import annotations

import json

import httpx

from billing.api.body import MAX_BODY_BYTES
from local.stack import LocalStack
from tests.conftest import table_items


def body_of(size: int) -> bytes:
    """A valid get_or_create body of exactly `size` bytes (its padding in metadata)."""
    empty = json.dumps({"customer_id": "big", "metadata": {"p": ""}}).encode()
    return json.dumps({"customer_id": "big", "metadata": {"p": "x" * (size - len(empty))}}).encode()


def test_a_body_over_the_limit_is_413_with_the_error_body_and_changes_nothing(
    api: httpx.Client, clean_stack: LocalStack
):
    answer = api.post(
        "/v1/customers.get_or_create",
        content=body_of(MAX_BODY_BYTES + 1),
        headers={"content-type": "application/json"},
    )

    assert answer.status_code == 413
    assert answer.json() == {
        "code": "payload_too_large",
        "message": f"The request body is larger than {MAX_BODY_BYTES} bytes.",
        "details": [{"field": "body", "message": f"at most {MAX_BODY_BYTES} bytes"}],
    }
    assert table_items(clean_stack) == []


def test_a_body_at_the_limit_reaches_the_route(api: httpx.Client):
    body = body_of(MAX_BODY_BYTES)
    answer = api.post(
        "/v1/customers.get_or_create", content=body, headers={"content-type": "application/json"}
    )

    assert len(body) == MAX_BODY_BYTES
    # The route parsed it: its own bound on metadata (16 KiB) answers, not the size limit.
    assert answer.status_code == 400
    assert [d["field"] for d in answer.json()["details"]] == ["metadata"]
