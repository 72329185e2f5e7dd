from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from pydantic import ValidationError

from billing.api.wire.customers import ListCustomersRequest
from billing.domain.errors import InvalidRequest
from billing.store import customer_index as store
from billing.store import keys

LAST_KEY = {
    "PK": {"S": "CUS#u1"},
    "SK": {"S": "PROFILE"},
    "GSI1PK": {"S": "CUSTOMERS"},
    "GSI1SK": {"S": "001700000000000#cus_abc"},
}


def cursor_of(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


class TestCursor:
    def test_a_cursor_round_trips_to_the_same_key(self):
        assert store.decode_cursor(store.encode_cursor(LAST_KEY)) == LAST_KEY

    def test_a_cursor_is_url_safe_text(self):
        cursor = store.encode_cursor({**LAST_KEY, "PK": {"S": "CUS#ü/+?&=" + "\xff" * 10}})

        assert set(cursor) <= set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_="
        )

    def test_a_cursor_does_not_depend_on_key_order(self):
        reordered = dict(reversed(LAST_KEY.items()))

        assert store.encode_cursor(reordered) == store.encode_cursor(LAST_KEY)

    @pytest.mark.parametrize(
        "cursor",
        [
            pytest.param("not a cursor", id="garbage"),
            pytest.param("bm90LWEtY3Vyc29y", id="base64 of plain text"),
            pytest.param("abc", id="bad padding"),
            pytest.param(base64.urlsafe_b64encode(b"\xff\xfe{}").decode(), id="not utf-8"),
            pytest.param(cursor_of(["PK", "SK", "GSI1PK", "GSI1SK"]), id="a list"),
            pytest.param(cursor_of("PK"), id="a string"),
            pytest.param(cursor_of({"PK": "CUS#u1", "SK": "PROFILE"}), id="missing keys"),
            pytest.param(
                cursor_of({k: v["S"] for k, v in LAST_KEY.items()} | {"extra": "x"}),
                id="extra key",
            ),
            pytest.param(
                cursor_of({k: v["S"] for k, v in LAST_KEY.items()} | {"GSI1SK": 5}),
                id="non-string value",
            ),
            pytest.param(cursor_of({k: {"S": "x"} for k in LAST_KEY}), id="raw attribute values"),
            pytest.param(base64.urlsafe_b64encode(b"[" * 100_000).decode(), id="deeply nested"),
        ],
    )
    def test_a_forged_or_garbage_cursor_is_an_invalid_start_cursor(self, cursor: str):
        with pytest.raises(InvalidRequest) as raised:
            store.decode_cursor(cursor)

        assert raised.value.details == [{"field": "start_cursor", "message": "not a valid cursor"}]


class FakeDynamoDB:
    """Records queries; answers every one with an empty, final page."""

    def __init__(self) -> None:
        self.queries: list[dict[str, Any]] = []

    def query(self, **params: Any) -> dict[str, Any]:
        self.queries.append(params)
        return {"Items": []}


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> FakeDynamoDB:
    fake = FakeDynamoDB()
    monkeypatch.setattr(store, "client", lambda: fake)
    monkeypatch.setattr(store, "table_name", lambda: "billing-unit")
    return fake


def bounds(query: dict[str, Any]) -> tuple[str, str]:
    values = query["ExpressionAttributeValues"]
    return values[":lowest"]["S"], values[":highest"]["S"]


def list_request(**fields: Any) -> ListCustomersRequest:
    return ListCustomersRequest.model_validate(fields)


class TestPageBounds:
    def test_a_range_includes_customers_created_at_both_ends_and_nothing_outside(
        self, dynamodb: FakeDynamoDB
    ):
        store.page(list_request(created_at_range={"start": 1000, "end": 2000}).page_query())

        lowest, highest = bounds(dynamodb.queries[0])
        for created_at, inside in [(999, False), (1000, True), (2000, True), (2001, False)]:
            sort_key = keys.customers_index_sk(created_at, "cus_0123456789abcdef01234567")
            assert (lowest <= sort_key <= highest) is inside, created_at

    @pytest.mark.parametrize(
        "created_at_range",
        [
            pytest.param({"start": 2000, "end": 1000}, id="start after end"),
            pytest.param({"start": 5e15, "end": 1e16}, id="bounds wider than the padding"),
        ],
    )
    def test_a_range_never_sends_dynamodb_an_inverted_between(
        self, dynamodb: FakeDynamoDB, created_at_range: dict[str, float]
    ):
        """DynamoDB rejects `BETWEEN a AND b` with a > b (a 500 here); moto does not check it."""
        try:
            query = list_request(created_at_range=created_at_range).page_query()
        except (InvalidRequest, ValidationError):
            return  # refused up front: fine

        assert store.page(query) == ([], None)
        for sent in dynamodb.queries:
            lowest, highest = bounds(sent)
            assert lowest <= highest

    def test_a_cursor_becomes_the_exclusive_start_key(self, dynamodb: FakeDynamoDB):
        store.page(list_request(start_cursor=store.encode_cursor(LAST_KEY)).page_query())

        assert dynamodb.queries[0]["ExclusiveStartKey"] == LAST_KEY

    def test_a_forged_cursor_is_refused_before_any_query(self, dynamodb: FakeDynamoDB):
        with pytest.raises(InvalidRequest):
            store.page(list_request(start_cursor="forged").page_query())

        assert dynamodb.queries == []
