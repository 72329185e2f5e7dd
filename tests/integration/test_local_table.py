"""The local table follows the template, also when it was made before an index was added."""

from __future__ import annotations

from local.dynamodb import ensure_table
from local.stack import LocalStack
from local.template import load_template, table_definition
from tests.conftest import dynamodb_client


def index_names(stack: LocalStack, table_name: str) -> list[str]:
    table = dynamodb_client(stack).describe_table(TableName=table_name)["Table"]
    return sorted(index["IndexName"] for index in table.get("GlobalSecondaryIndexes", []))


def test_a_table_made_before_an_index_existed_gets_it(stack: LocalStack) -> None:
    older = table_definition(load_template(), "billing-before-gsi2")
    older["GlobalSecondaryIndexes"] = [
        i for i in older["GlobalSecondaryIndexes"] if i["IndexName"] == "GSI1"
    ]
    older["AttributeDefinitions"] = [
        a for a in older["AttributeDefinitions"] if not a["AttributeName"].startswith("GSI2")
    ]
    dynamodb_client(stack).create_table(**older)

    created = ensure_table(stack.dynamodb_url, "billing-before-gsi2")

    assert created is False
    assert index_names(stack, "billing-before-gsi2") == ["GSI1", "GSI2"]
    dynamodb_client(stack).delete_table(TableName="billing-before-gsi2")
