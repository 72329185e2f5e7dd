"""Our API reference (local/openapi.json) agrees with Autumn's published OpenAPI document
(tests/compat/autumn_openapi/) on every route both have, except where a difference is listed
below with its reason: a new difference, or a listed one that went away, fails.

Compared, per shared route: the top-level fields of the request body and of the 200 answer,
which of them are required, and their JSON types. In a request we must take every type Autumn
sends, and a field we take at one value only (the official SDKs' default) is listed; in an
answer we must write only types Autumn allows (an integer is a number). Nested
answer shapes are checked on every answer the suite receives (tests/compat/autumn_openapi/
recorder.py); this test is the static, whole-surface view. Pure JSON: no stack, no network.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from local import openapi

_AUTUMN = Path(__file__).resolve().parents[1] / "compat" / "autumn_openapi"

# Routes we have and Autumn's document does not.
OURS_ONLY_ROUTES = {
    "/v1/customers.advance_test_clock": "moves a Stripe test clock; Autumn has no such route",
    "/v1/webhooks.create": "the application's webhook endpoints are managed by API here",
    "/v1/webhooks.delete": "the application's webhook endpoints are managed by API here",
    "/v1/webhooks.get": "the application's webhook endpoints are managed by API here",
    "/v1/webhooks.list": "the application's webhook endpoints are managed by API here",
    "/v1/webhooks.update": "the application's webhook endpoints are managed by API here",
    "/webhooks/stripe": "Stripe's webhook receiver, signed by Stripe, not an API route",
}

# Reasons shared by many differences (each difference below names one).
_UNKNOWN = "an Autumn feature not built here: a 400 naming the field, as any field not taken here"
_SDK_DEFAULT = (
    "an Autumn feature not built here that the SDKs send at its default: taken at that value "
    "only, any other is a 400 naming the field"
)
_REFUSED = "an Autumn SDK field missing from its document; refused with a 400 naming it"
_NOT_ANSWERED = "optional in Autumn's answer; the feature behind it is not built here"
_NO_ENTITIES = "entities are not built here; optional in Autumn's answer"
_WHOLE = "a version or epoch-ms moment is whole: 2.0 is taken, 2.5 is a 400 naming the field"
_PER_CUSTOMER = "stored per customer: a listing across customers is not offered (400 naming it)"
_FULL_CUSTOMER = "customers.update answers the whole customer, as customers.get does"
_PROCESSORS = "a plan says which Stripe product and prices bill it"


def _each(reason: str, *differences: str) -> dict[str, str]:
    return dict.fromkeys(differences, reason)


DIFFERENCES: dict[str, str] = {
    # Requests: Autumn takes the field, we do not take it.
    **_each(
        _UNKNOWN,
        "balances.check request lock autumn-only",
        "balances.track request lock autumn-only",
        "billing.preview_update request carry_over_usages autumn-only",
        "billing.preview_update request recalculate_balances autumn-only",
        "billing.update request carry_over_usages autumn-only",
        "billing.update request recalculate_balances autumn-only",
        "billing.setup_payment request billing_cycle_anchor autumn-only",
        "billing.setup_payment request carry_over_balances autumn-only",
        "billing.setup_payment request carry_over_usages autumn-only",
        "billing.setup_payment request checkout_session_params autumn-only",
        "billing.setup_payment request currency autumn-only",
        "billing.setup_payment request custom_line_items autumn-only",
        "billing.setup_payment request enable_plan_immediately autumn-only",
        "billing.setup_payment request ends_at autumn-only",
        "billing.setup_payment request license_quantities autumn-only",
        "billing.setup_payment request no_billing_changes autumn-only",
        "billing.setup_payment request processor_subscription_id autumn-only",
        "billing.setup_payment request remove_plan_ids autumn-only",
        "billing.setup_payment request starts_at autumn-only",
        "billing.setup_payment request subscription_id autumn-only",
        "billing.setup_payment request tax_rate_id autumn-only",
        "customers.get_or_create request currency autumn-only",
        "customers.update request currency autumn-only",
        "customers.list request subscription_status autumn-only",
        "events.aggregate request aggregate_on autumn-only",
        "features.create request default_markup autumn-only",
        "features.create request model_markups autumn-only",
        "features.create request provider_markups autumn-only",
        "features.update request default_markup autumn-only",
        "features.update request model_markups autumn-only",
        "features.update request provider_markups autumn-only",
        "plans.create request billing_controls autumn-only",
        "plans.create request licenses autumn-only",
        "plans.list request customer_id autumn-only",
        "plans.list request entity_id autumn-only",
        "plans.update request all_versions autumn-only",
        "plans.update request base_plan_id autumn-only",
        "plans.update request billing_controls autumn-only",
        "plans.update request disable_version autumn-only",
        "plans.update request is_default autumn-only",
        "plans.update request licenses autumn-only",
        "plans.update request migration autumn-only",
        "plans.update request new_plan_id autumn-only",
        "plans.update request update_license_parents autumn-only",
        "plans.update request update_variant_ids autumn-only",
        "plans.update request variants autumn-only",
        "plans.update request version autumn-only",
    ),
    # Requests: fields we take at the SDKs' default value only (nested ones, such as
    # items[].pooled, are pinned by tests/unit/test_wire_sdk_defaults.py).
    **_each(
        _SDK_DEFAULT,
        "plans.create request create_in_stripe default-only",
        "plans.update request create_in_stripe default-only",
    ),
    # Requests: fields we declare that Autumn's document does not have.
    **_each(
        _REFUSED,
        "billing.attach request add_lines ours-only",
        "billing.attach request billing_details ours-only",
        "billing.attach request remove_discounts ours-only",
        "billing.attach request remove_lines ours-only",
        "billing.attach request tax ours-only",
        "billing.preview_attach request add_lines ours-only",
        "billing.preview_attach request billing_details ours-only",
        "billing.preview_attach request remove_discounts ours-only",
        "billing.preview_attach request remove_lines ours-only",
        "billing.preview_attach request tax ours-only",
        "billing.preview_update request add_lines ours-only",
        "billing.preview_update request custom_line_items ours-only",
        "billing.preview_update request remove_discounts ours-only",
        "billing.preview_update request remove_lines ours-only",
        "billing.preview_update request subscription_params ours-only",
        "billing.update request add_lines ours-only",
        "billing.update request custom_line_items ours-only",
        "billing.update request remove_discounts ours-only",
        "billing.update request remove_lines ours-only",
        "billing.update request subscription_params ours-only",
    ),
    **_each(
        "the SDKs' top-level shorthand for customize.free_trial (customize wins)",
        "billing.attach request free_trial ours-only",
        "billing.preview_attach request free_trial ours-only",
        "billing.preview_update request free_trial ours-only",
        "billing.setup_payment request free_trial ours-only",
        "billing.update request free_trial ours-only",
    ),
    "balances.track request idempotency_key ours-only": (
        "the SDKs send track's idempotency key in the body; it counts a retry once"
    ),
    "events.list request range ours-only": "named ranges (24h, 7d, 30d, 90d) beside custom_range",
    "events.aggregate request measure ours-only": "sum or count per bin (Autumn sums only)",
    "invoices.list request invoice_id ours-only": "filters to one invoice by our id",
    "invoices.list request stripe_id ours-only": "filters to one invoice by its Stripe id",
    **_each(
        _PER_CUSTOMER,
        "events.aggregate request customer_id required-here",
        "events.list request customer_id required-here",
        "invoices.list request customer_id required-here",
    ),
    **_each(
        _WHOLE,
        "balances.create request expires_at type",
        "balances.create request next_reset_at type",
        "balances.update request expires_at type",
        "balances.update request next_reset_at type",
        "billing.attach request version type",
        "billing.preview_attach request version type",
        "billing.preview_update request version type",
        "billing.setup_payment request version type",
        "billing.update request version type",
        "plans.get request version type",
    ),
    # Answers: optional fields of Autumn's we do not write.
    **_each(
        _NO_ENTITIES,
        "balances.check answer entity_id autumn-only",
        "balances.track answer entity_id autumn-only",
        "billing.attach answer entity_id autumn-only",
        "billing.setup_payment answer entity_id autumn-only",
        "billing.update answer entity_id autumn-only",
    ),
    **_each(
        _NOT_ANSWERED,
        "billing.preview_attach answer expand autumn-only",
        "billing.preview_attach answer tax autumn-only",
        "billing.preview_update answer expand autumn-only",
        "billing.preview_update answer tax autumn-only",
        "customers.get answer invoice_previews autumn-only",
        "customers.get answer payment_method autumn-only",
        "customers.get answer processors autumn-only",
        "customers.get answer rewards autumn-only",
        "customers.get_or_create answer invoice_previews autumn-only",
        "customers.get_or_create answer payment_method autumn-only",
        "customers.get_or_create answer processors autumn-only",
        "customers.get_or_create answer rewards autumn-only",
        "customers.update answer processors autumn-only",
        "events.aggregate answer deductions autumn-only",
        "features.create answer default_markup autumn-only",
        "features.create answer model_markups autumn-only",
        "features.create answer provider_markups autumn-only",
        "features.get answer default_markup autumn-only",
        "features.get answer model_markups autumn-only",
        "features.get answer provider_markups autumn-only",
        "features.update answer default_markup autumn-only",
        "features.update answer model_markups autumn-only",
        "features.update answer provider_markups autumn-only",
        "plans.create answer billing_controls autumn-only",
        "plans.create answer customer_eligibility autumn-only",
        "plans.create answer variant_details autumn-only",
        "plans.get answer billing_controls autumn-only",
        "plans.get answer customer_eligibility autumn-only",
        "plans.get answer variant_details autumn-only",
        "plans.update answer billing_controls autumn-only",
        "plans.update answer customer_eligibility autumn-only",
        "plans.update answer variant_details autumn-only",
    ),
    # Answers: fields we add.
    **_each(
        _FULL_CUSTOMER,
        "customers.update answer entities ours-only",
        "customers.update answer invoices ours-only",
        "customers.update answer referrals ours-only",
        "customers.update answer trials_used ours-only",
    ),
    **_each(
        _PROCESSORS,
        "plans.create answer processors ours-only",
        "plans.get answer processors ours-only",
        "plans.update answer processors ours-only",
    ),
}


def _load(path: Path) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(path.read_text())
    return found


class _Schemas:
    """One document's component schemas, to follow `$ref`s."""

    def __init__(self, components: dict[str, Any]) -> None:
        self._components = components

    def resolved(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self._components[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def fields(self, schema: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
        """An object schema's properties and required names (`allOf` parts merged)."""
        schema = self.resolved(schema)
        properties: dict[str, Any] = {}
        required: set[str] = set()
        for part in [*schema.get("allOf", []), schema]:
            part = self.resolved(part)
            properties |= part.get("properties", {})
            required |= set(part.get("required", []))
        return properties, required

    def only_one(self, schema: dict[str, Any]) -> bool:
        """Whether the schema allows a single value (a const)."""
        return "const" in self.resolved(schema)

    def kinds(self, schema: dict[str, Any]) -> set[str]:
        """The JSON types a schema allows; "any" when it does not say."""
        schema = self.resolved(schema)
        for union in ("anyOf", "oneOf", "allOf"):
            if union in schema:
                return set().union(*(self.kinds(choice) for choice in schema[union]))
        if "const" in schema:
            return {_kind(schema["const"])}
        if "enum" in schema:
            return {_kind(value) for value in schema["enum"]}
        declared = schema.get("type")
        if declared is None:
            return {"any"}
        return set(declared) if isinstance(declared, list) else {declared}


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    names = {int: "integer", float: "number", str: "string", list: "array", dict: "object"}
    return names[type(value)]


def _widened(kinds: set[str]) -> set[str]:
    return kinds | {"integer"} if "number" in kinds else kinds


def _compare(
    route: str,
    side: str,
    ours: tuple[_Schemas, dict[str, Any]],
    autumn: tuple[_Schemas, dict[str, Any]],
) -> dict[str, str]:
    """Each difference of one request or answer: its key -> what differs."""
    (our_schemas, our_schema), (autumn_schemas, autumn_schema) = ours, autumn
    our_fields, our_required = our_schemas.fields(our_schema)
    autumn_fields, autumn_required = autumn_schemas.fields(autumn_schema)
    found: dict[str, str] = {}
    prefix = f"{route} {side}"
    for name in sorted(autumn_fields.keys() - our_fields.keys()):
        found[f"{prefix} {name} autumn-only"] = "Autumn has this field, we do not"
    for name in sorted(our_fields.keys() - autumn_fields.keys()):
        found[f"{prefix} {name} ours-only"] = "we have this field, Autumn does not"
    for name in sorted(our_fields.keys() & autumn_fields.keys()):
        if side == "request" and name in our_required - autumn_required:
            found[f"{prefix} {name} required-here"] = "we require it, Autumn does not"
        narrowed = our_schemas.only_one(our_fields[name])
        if side == "request" and narrowed and not autumn_schemas.only_one(autumn_fields[name]):
            found[f"{prefix} {name} default-only"] = "we take one value, Autumn any"
        if side == "answer" and name in autumn_required - our_required:
            found[f"{prefix} {name} not-always"] = "Autumn always answers it, we may not"
        mine = our_schemas.kinds(our_fields[name])
        theirs = autumn_schemas.kinds(autumn_fields[name])
        if "any" in (mine if side == "request" else theirs):
            continue
        # A request must take what Autumn's callers send; an answer must stay within Autumn's.
        taken, given = (mine, theirs) if side == "request" else (theirs, mine)
        if not given - {"any"} <= _widened(taken):
            found[f"{prefix} {name} type"] = f"Autumn {sorted(theirs)}, ours {sorted(mine)}"
    return found


def differences() -> dict[str, str]:
    ours = openapi.document()
    answers = _load(_AUTUMN / "responses.json")
    requests = _load(_AUTUMN / "requests.json")
    our_schemas = _Schemas(ours["components"]["schemas"])
    autumn_schemas = _Schemas(answers["components"]["schemas"])
    found: dict[str, str] = {}
    for path, operations in ours["paths"].items():
        if path not in answers["paths"]:
            continue
        operation = operations["post"]
        route = path.removeprefix("/v1/")
        body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
        found |= _compare(
            route,
            "request",
            (our_schemas, body.get("schema", {})),
            (autumn_schemas, requests["paths"].get(path, {})),
        )
        answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
        found |= _compare(
            route,
            "answer",
            (our_schemas, answer),
            (autumn_schemas, answers["paths"][path]["200"]),
        )
    return found


def test_each_route_autumn_lacks_is_listed_with_a_reason() -> None:
    autumn = _load(_AUTUMN / "responses.json")["paths"]
    ours = set(openapi.document()["paths"])

    assert ours - set(autumn) == set(OURS_ONLY_ROUTES)
    assert len(ours & set(autumn)) >= 28, "the shared routes are compared"


def test_shared_routes_differ_from_autumns_document_only_where_listed() -> None:
    found = differences()

    unlisted = {key: what for key, what in found.items() if key not in DIFFERENCES}
    gone = sorted(DIFFERENCES.keys() - found.keys())
    assert not unlisted, f"differences from Autumn's document not listed: {unlisted}"
    assert not gone, f"listed differences that no longer exist (remove them): {gone}"


def test_the_comparison_sees_a_field_dropped_from_an_answer_or_a_type_changed() -> None:
    """The comparison itself: a required answer field gone and a request type narrowed are
    both caught (so an empty result is not a comparison that looks at nothing)."""
    autumn = _Schemas({})
    theirs = {
        "type": "object",
        "required": ["allowed"],
        "properties": {"allowed": {"type": "boolean"}, "value": {"type": "number"}},
    }
    ours = {"type": "object", "properties": {"value": {"type": "integer"}}}

    answer = _compare("r", "answer", (autumn, ours), (autumn, theirs))
    request = _compare("r", "request", (autumn, ours), (autumn, theirs))

    assert set(answer) == {"r answer allowed autumn-only"}
    assert set(request) == {"r request allowed autumn-only", "r request value type"}


def test_the_comparison_sees_a_request_field_narrowed_to_one_value() -> None:
    schemas = _Schemas({})
    theirs = {"type": "object", "properties": {"pooled": {"type": "boolean"}}}
    ours = {"type": "object", "properties": {"pooled": {"type": "boolean", "const": False}}}

    request = _compare("r", "request", (schemas, ours), (schemas, theirs))

    assert set(request) == {"r request pooled default-only"}
