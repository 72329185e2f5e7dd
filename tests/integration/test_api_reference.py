"""The local stack serves the API reference: the OpenAPI document and a page of it."""

from __future__ import annotations

import httpx

from local import openapi
from local.stack import LocalStack


def test_the_local_stack_serves_the_checked_in_document_and_its_page(stack: LocalStack) -> None:
    with httpx.Client(base_url=stack.api_url, timeout=120) as client:
        document = client.get("/openapi.json")
        page = client.get("/reference")

    assert document.status_code == 200
    assert document.headers["content-type"] == "application/json"
    assert document.json() == openapi.document()
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<code>POST /v1/billing.attach</code>" in page.text
