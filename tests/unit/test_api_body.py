from __future__ import annotations

import json
from decimal import Decimal

import pytest
from pydantic import BaseModel

from billing.api.body import MAX_BODY_BYTES, canonical, json_body, parse
from billing.api.wire.check import CheckRequest
from billing.api.wire.customers import GetOrCreateCustomerRequest, ListCustomersRequest
from billing.api.wire.plans import UpdatePlanRequest
from billing.api.wire.track import TrackRequest
from billing.domain.errors import InvalidRequest, PayloadTooLarge
from tests.unit.events import api_event


class TestJsonBody:
    def test_a_json_object_is_returned_as_a_dict(self):
        assert json_body(api_event('{"customer_id": "u1", "n": 1.5}')) == {
            "customer_id": "u1",
            "n": Decimal("1.5"),
        }

    def test_a_fraction_is_read_as_the_decimal_it_was_written_as(self):
        body = json_body(api_event('{"a": 0.1, "b": 154.33, "c": 1e200}'))

        assert body == {"a": Decimal("0.1"), "b": Decimal("154.33"), "c": Decimal("1e200")}
        assert all(isinstance(v, Decimal) for v in body.values())

    @pytest.mark.parametrize("value", ["1e200", "-1e200", "1e13"])
    def test_a_number_too_large_for_its_field_is_invalid_naming_the_field(self, value: str):
        with pytest.raises(InvalidRequest) as raised:
            parse(ListCustomersRequest, api_event(f'{{"limit": {value}}}'))

        assert [d["field"] for d in raised.value.details] == ["limit"]

    def test_a_base64_encoded_body_is_decoded(self):
        assert json_body(api_event('{"customer_id": "ü"}'.encode())) == {"customer_id": "ü"}

    @pytest.mark.parametrize("body", [None, "", "   ", "\n\t"])
    def test_an_empty_body_is_an_empty_object(self, body: str | None):
        assert json_body(api_event(body)) == {}

    @pytest.mark.parametrize(
        "body",
        [
            '{"limit": NaN}',
            '{"limit": Infinity}',
            '{"limit": -Infinity}',
            '{"limit": 1e999}',
            '{"limit": -1e999}',
        ],
    )
    def test_non_finite_numbers_are_invalid(self, body: str):
        with pytest.raises(InvalidRequest) as raised:
            json_body(api_event(body))

        assert raised.value.details == [{"field": "body", "message": "expected a JSON object"}]

    @pytest.mark.parametrize("body", ["[]", '[{"customer_id": "u1"}]', '"text"', "42", "null"])
    def test_json_that_is_not_an_object_is_invalid(self, body: str):
        with pytest.raises(InvalidRequest) as raised:
            json_body(api_event(body))

        assert raised.value.message == "The request body must be a JSON object."

    @pytest.mark.parametrize("body", ['{"customer_id": ', "{'a': 1}", '{"a": 1,}', "not json"])
    def test_malformed_json_is_invalid(self, body: str):
        with pytest.raises(InvalidRequest) as raised:
            json_body(api_event(body))

        assert raised.value.message == "The request body is not valid JSON."

    def test_invalid_utf8_in_a_base64_body_is_invalid(self):
        with pytest.raises(InvalidRequest):
            json_body(api_event(b'{"name": "\xff\xfe"}'))

    def test_invalid_base64_is_invalid(self):
        with pytest.raises(InvalidRequest) as raised:
            json_body(api_event("e30", base64_encoded=True))

        assert raised.value.message == "The request body is not valid base64."

    def test_a_body_of_exactly_the_limit_is_accepted(self):
        padding = MAX_BODY_BYTES - len('{"p": ""}')
        body = json.dumps({"p": "x" * padding}, separators=(",", ":")).replace(":", ": ")

        assert len(body.encode()) == MAX_BODY_BYTES
        assert json_body(api_event(body)) == {"p": "x" * padding}

    @pytest.mark.parametrize("as_bytes", [False, True], ids=["text", "base64"])
    def test_a_body_over_the_limit_is_too_large(self, as_bytes: bool):
        body = '{"p": "' + "x" * MAX_BODY_BYTES + '"}'

        with pytest.raises(PayloadTooLarge):
            json_body(api_event(body.encode() if as_bytes else body))

    def test_deeply_nested_json_is_invalid_not_a_crash(self):
        # Well under MAX_BODY_BYTES, yet deeper than the JSON decoder's recursion limit.
        body = "[" * 100_000 + "]" * 100_000

        with pytest.raises(InvalidRequest):
            json_body(api_event(body))


class Nested(BaseModel):
    inner: int


class Outer(BaseModel):
    nested: Nested
    items: list[int] = []


class TestParse:
    def test_a_valid_body_becomes_the_model(self):
        request = parse(GetOrCreateCustomerRequest, api_event('{"customer_id": "u1"}'))

        assert request.customer_id == "u1"

    def test_each_invalid_field_is_reported_with_its_dotted_path(self):
        event = api_event('{"created_at_range": {"start": -1}, "limit": 0}')

        with pytest.raises(InvalidRequest) as raised:
            parse(ListCustomersRequest, event)

        fields = {detail["field"] for detail in raised.value.details or []}
        assert fields == {"created_at_range.start", "limit"}

    def test_details_carry_a_message_and_a_type(self):
        with pytest.raises(InvalidRequest) as raised:
            parse(ListCustomersRequest, api_event('{"limit": 0}'))

        (detail,) = raised.value.details or []
        assert detail["field"] == "limit"
        assert detail["type"] == "greater_than_equal"
        assert detail["message"]

    def test_list_indexes_appear_in_the_dotted_path(self):
        with pytest.raises(InvalidRequest) as raised:
            parse(Outer, api_event('{"nested": {"inner": 1}, "items": [1, "x"]}'))

        assert [d["field"] for d in raised.value.details or []] == ["items.1"]

    def test_a_missing_required_field_is_reported_by_name(self):
        with pytest.raises(InvalidRequest) as raised:
            parse(GetOrCreateCustomerRequest, api_event("{}"))

        assert raised.value.details == [
            {"field": "customer_id", "message": "Field required", "type": "missing"}
        ]

    def test_details_never_echo_the_input(self):
        secret = "sk_live_do_not_echo"
        with pytest.raises(InvalidRequest) as raised:
            parse(GetOrCreateCustomerRequest, api_event(json.dumps({"customer_id": [secret]})))

        assert secret not in json.dumps(raised.value.details)

    def test_a_non_object_body_is_invalid_before_validation(self):
        with pytest.raises(InvalidRequest) as raised:
            parse(GetOrCreateCustomerRequest, api_event("[]"))

        assert raised.value.details == [{"field": "body", "message": "expected a JSON object"}]


class TestUnknownFields:
    @pytest.mark.parametrize("model", [CheckRequest, TrackRequest])
    def test_autumns_lock_is_refused_by_name_never_dropped(self, model: type[BaseModel]):
        body = {"customer_id": "u1", "feature_id": "messages", "lock": {"lock_id": "l1"}}

        with pytest.raises(InvalidRequest) as raised:
            parse(model, api_event(json.dumps(body)))

        assert raised.value.details == [
            {
                "field": "lock",
                "message": "not supported here: this API does not take this field",
                "type": "extra_forbidden",
            }
        ]
        assert raised.value.message == "The request has fields this API does not support: lock."

    def test_an_unknown_field_inside_a_list_is_named_by_its_dotted_path(self):
        body = {"plan_id": "pro", "items": [{"feature_id": "m"}, {"feature_id": "n", "x": 1}]}

        with pytest.raises(InvalidRequest) as raised:
            parse(UpdatePlanRequest, api_event(json.dumps(body)))

        assert [d["field"] for d in raised.value.details or []] == ["items.1.x"]

    def test_unknown_and_invalid_fields_are_reported_together(self):
        body = {"customer_id": "u1", "limit": 0, "x": 1, "y": 2, "z": 3, "w": 4}

        with pytest.raises(InvalidRequest) as raised:
            parse(ListCustomersRequest, api_event(json.dumps(body)))

        assert {d["field"] for d in raised.value.details or []} == {
            "customer_id",
            "limit",
            "x",
            "y",
            "z",
            "w",
        }
        assert raised.value.message == "The request has invalid fields."

    def test_a_message_names_at_most_three_unknown_fields(self):
        body = {"customer_id": "u1", "a": 1, "b": 2, "c": 3, "d": 4}

        with pytest.raises(InvalidRequest) as raised:
            parse(GetOrCreateCustomerRequest, api_event(json.dumps(body)))

        assert raised.value.message == (
            "The request has fields this API does not support: a, b, c and 1 more."
        )

    def test_a_query_parameter_is_refused_by_name(self):
        event = api_event('{"customer_id": "u1"}')
        event.raw_event["rawQueryString"] = "customer_id=u2&dry_run"
        event.raw_event["queryStringParameters"] = {"customer_id": "u2", "dry_run": ""}

        with pytest.raises(InvalidRequest) as raised:
            parse(GetOrCreateCustomerRequest, event)

        assert [d["field"] for d in raised.value.details or []] == ["customer_id", "dry_run"]


class TestCanonical:
    def test_differently_formatted_equal_json_has_the_same_canonical_bytes(self):
        compact = '{"customer_id":"u1","metadata":{"b":2,"a":[1,2]}}'
        spaced = '{\n  "metadata": { "a": [1, 2], "b": 2 },\n  "customer_id": "u1"\n}'

        assert canonical(api_event(compact)) == canonical(api_event(spaced))

    def test_base64_and_plain_bodies_have_the_same_canonical_bytes(self):
        body = '{"customer_id": "u1"}'

        assert canonical(api_event(body)) == canonical(api_event(body.encode()))

    def test_different_json_has_different_canonical_bytes(self):
        assert canonical(api_event('{"customer_id": "u1"}')) != canonical(
            api_event('{"customer_id": "u2"}')
        )

    def test_canonical_form_is_sorted_and_compact(self):
        assert canonical(api_event('{"b": 1, "a": [1, 2]}')) == b'{"a":[1,2],"b":1}'

    def test_a_body_that_is_not_json_is_kept_as_is(self):
        assert canonical(api_event("not json")) == b"not json"

    def test_an_oversized_body_is_too_large(self):
        with pytest.raises(PayloadTooLarge):
            canonical(api_event("x" * (MAX_BODY_BYTES + 1)))

    def test_deeply_nested_json_is_kept_as_is_not_a_crash(self):
        body = "[" * 100_000 + "]" * 100_000

        assert canonical(api_event(body)) == body.encode()


class TestDeepBodies:
    @pytest.mark.parametrize("depth", [49, 300, 30_000])
    def test_a_body_nested_deeper_than_any_route_takes_is_invalid(self, depth: int):
        body = '{"a": ' * depth + "1" + "}" * depth

        with pytest.raises(InvalidRequest) as raised:
            json_body(api_event(body))

        assert raised.value.details is not None
        assert raised.value.details[0]["field"] == "body"

    def test_a_body_as_deep_as_the_bound_is_parsed(self):
        body = '{"a": ' * 48 + "1" + "}" * 48

        assert "a" in json_body(api_event(body))


class TestSizeLimitBeforeParsing:
    def test_an_oversized_base64_body_is_too_large_before_it_is_decoded(self):
        # Not valid base64 either: only a check of its length before decoding says 413.
        body = "!" * (MAX_BODY_BYTES * 2)

        with pytest.raises(PayloadTooLarge):
            json_body(api_event(body, base64_encoded=True))

    def test_an_oversized_body_that_is_not_json_is_too_large_not_invalid(self):
        with pytest.raises(PayloadTooLarge):
            json_body(api_event("{" * (MAX_BODY_BYTES + 1)))

    def test_too_large_names_the_body_and_the_limit(self):
        with pytest.raises(PayloadTooLarge) as raised:
            json_body(api_event("x" * (MAX_BODY_BYTES + 1)))

        assert raised.value.code == "payload_too_large"
        assert raised.value.details == [
            {"field": "body", "message": f"at most {MAX_BODY_BYTES} bytes"}
        ]

    @pytest.mark.parametrize("size", [MAX_BODY_BYTES - 1, MAX_BODY_BYTES])
    def test_a_base64_body_up_to_the_limit_is_decoded(self, size: int):
        body = b'{"p": "' + b"x" * (size - len(b'{"p": ""}')) + b'"}'

        assert len(body) == size
        assert json_body(api_event(body))["p"] == "x" * (size - 9)
