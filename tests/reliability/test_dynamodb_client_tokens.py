"""The local DynamoDB honours a transaction's ClientRequestToken as DynamoDB does, so that
botocore's retry of a transaction whose answer was lost is not applied twice."""

from __future__ import annotations

import uuid
from typing import Any

import botocore.session
import pytest
import urllib3
from botocore.awsrequest import AWSPreparedRequest
from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError

from local.stack import LocalStack


@pytest.fixture
def dynamodb(clean_stack: LocalStack) -> Any:
    return botocore.session.get_session().create_client(
        "dynamodb",
        endpoint_url=clean_stack.dynamodb_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"mode": "standard", "max_attempts": 3}),
    )


def add_one(table: str, sk: str = "COUNT") -> list[dict[str, Any]]:
    return [
        {
            "Update": {
                "TableName": table,
                "Key": {"PK": {"S": "TOKENS"}, "SK": {"S": sk}},
                "UpdateExpression": "ADD n :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        }
    ]


def count(dynamodb: Any, table: str, sk: str = "COUNT") -> int:
    item = dynamodb.get_item(
        TableName=table, Key={"PK": {"S": "TOKENS"}, "SK": {"S": sk}}, ConsistentRead=True
    ).get("Item")
    return int(item["n"]["N"]) if item else 0


def test_a_transaction_repeated_with_its_token_succeeds_and_applies_once(
    dynamodb: Any, clean_stack: LocalStack
) -> None:
    table, token = clean_stack.config.table_name, str(uuid.uuid4())

    dynamodb.transact_write_items(TransactItems=add_one(table), ClientRequestToken=token)
    dynamodb.transact_write_items(TransactItems=add_one(table), ClientRequestToken=token)

    assert count(dynamodb, table) == 1


def test_a_token_reused_with_other_items_is_a_mismatch_that_changes_nothing(
    dynamodb: Any, clean_stack: LocalStack
) -> None:
    table, token = clean_stack.config.table_name, str(uuid.uuid4())
    dynamodb.transact_write_items(TransactItems=add_one(table), ClientRequestToken=token)

    with pytest.raises(ClientError) as raised:
        dynamodb.transact_write_items(
            TransactItems=add_one(table, "OTHER"), ClientRequestToken=token
        )

    assert raised.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"
    assert count(dynamodb, table, "OTHER") == 0


def test_transactions_without_a_shared_token_each_apply(
    dynamodb: Any, clean_stack: LocalStack
) -> None:
    table = clean_stack.config.table_name

    for _ in range(3):
        dynamodb.transact_write_items(TransactItems=add_one(table))  # botocore fills a token

    assert count(dynamodb, table) == 3


def test_botocore_retrying_a_transaction_whose_answer_timed_out_applies_it_once(
    dynamodb: Any, clean_stack: LocalStack
) -> None:
    table = clean_stack.config.table_name
    attempts: list[str] = []

    def answer_lost(request: AWSPreparedRequest, **_: Any) -> None:
        """The first attempt reaches DynamoDB, but its answer never comes back."""
        attempts.append(request.body.decode() if isinstance(request.body, bytes) else "")
        if len(attempts) == 1:
            urllib3.request("POST", request.url, body=request.body, headers=dict(request.headers))
            raise ReadTimeoutError(endpoint_url=request.url)

    dynamodb.meta.events.register("before-send.dynamodb.TransactWriteItems", answer_lost)
    dynamodb.transact_write_items(TransactItems=add_one(table))

    assert len(attempts) == 2, "botocore retried"
    assert '"ClientRequestToken"' in attempts[0], "botocore fills the token in itself"
    assert attempts[0] == attempts[1], "and resends the same one"
    assert count(dynamodb, table) == 1
