"""The API reference (local/openapi.json) is generated from the handlers and their wire models,
covers every route the template deploys, is a valid OpenAPI 3.1 document, and is current."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest
from openapi_spec_validator import validate

from billing.api.wire.attach import AttachRequest
from billing.api.wire.check import CheckResponse, check_response
from local import openapi
from local.template import load_template, routes

_NOT_AN_API_ROUTE = ("/dashboard", "/$default")


def test_the_checked_in_reference_is_what_the_handlers_and_models_generate() -> None:
    assert openapi.DOCUMENT.read_text() == openapi.rendered(), (
        "local/openapi.json is stale: run make openapi"
    )


def test_the_reference_is_a_valid_openapi_3_1_document() -> None:
    validate(openapi.document())  # raises on an invalid document


def test_every_route_the_template_deploys_is_in_the_reference_with_its_method() -> None:
    deployed = {
        (route.method.lower(), route.path)
        for route in routes(load_template())
        if not route.path.startswith(_NOT_AN_API_ROUTE)
    }
    documented = {
        (method, path)
        for path, operations in openapi.document()["paths"].items()
        for method in operations
    }

    assert deployed == documented


def test_each_route_names_the_model_its_handler_parses_and_every_answer_it_builds() -> None:
    found = {route.path: route for route in openapi.routes()}

    assert found["/v1/billing.attach"].request is AttachRequest
    assert {s: m.__name__ for s, m in found["/v1/balances.track"].answers.items()} == {
        200: "TrackResponse",
        202: "QueuedTrackResponse",
    }
    assert found["/v1/balances.check"].answers[200] is CheckResponse


def test_an_answer_the_api_writes_validates_against_its_schema_with_decimals_as_numbers() -> None:
    document = openapi.document()
    schema = {
        **document["paths"]["/v1/balances.check"]["post"]["responses"]["200"]["content"][
            "application/json"
        ]["schema"],
        "components": document["components"],
    }
    answer = check_response("c1", Decimal("2.5"), True, None, None)
    written = {"allowed": True, "customer_id": "c1", "required_balance": 2.5}
    written |= {"balance": None, "flag": None}

    jsonschema.validate(written, schema)
    assert answer.model_dump(exclude_none=True)["required_balance"] == Decimal("2.5")


def test_the_check_mode_fails_on_a_stale_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale = tmp_path / "openapi.json"
    stale.write_text("{}\n")
    monkeypatch.setattr(openapi, "DOCUMENT", stale)

    assert openapi.main(["--check"]) == 1
    assert openapi.main([]) == 0
    assert openapi.main(["--check"]) == 0


def test_the_reference_page_shows_every_operation_and_the_fields_it_takes() -> None:
    spec = openapi.document()

    page = openapi.reference_page(spec)

    for path, operations in spec["paths"].items():
        for method in operations:
            assert f"<code>{method.upper()} {path}</code>" in page
    assert "<td><code>plan_id</code></td>" in page
    assert "<code>202</code> QueuedTrackResponse" in page


def _takes_anything(schema: dict[str, object]) -> bool:
    """A schema that says nothing of what it takes (only a title, a description, a default)."""
    return not set(schema) - {"title", "description", "default"}


def test_a_refused_autumn_option_shows_autumns_type_and_that_it_is_refused() -> None:
    """`discounts` and the other options of Autumn's not built here are refused (400 naming
    them), and the reference shows what Autumn takes there, not an empty schema."""
    schemas = openapi.document()["components"]["schemas"]
    discounts = schemas["AttachRequest"]["properties"]["discounts"]
    listed, null = discounts["anyOf"]
    discount = schemas[listed["items"]["$ref"].rsplit("/", 1)[-1]]

    assert (listed["type"], null) == ("array", {"type": "null"})
    assert set(discount["properties"]) == {"reward_id", "promotion_code"}
    assert "refused here" in discounts["description"]
    assert "refused here" in schemas["CustomizeFields"]["properties"]["add_items"]["description"]
    untyped = [
        f"{name}.{field}"
        for name, schema in schemas.items()
        for field, property_schema in schema.get("properties", {}).items()
        if _takes_anything(property_schema)
    ]
    assert untyped == [], "every field of the reference says what it takes"
