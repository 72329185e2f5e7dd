"""The catalog's features alone: what the hot path (check, track) needs of the catalog."""

from __future__ import annotations

from typing import Any

from billing.domain.features import Feature
from billing.store import keys
from billing.store.table import client, table_name, translated_errors


def feature_from_item(item: dict[str, Any]) -> Feature:
    # The revision attribute, not the body, is the record's current revision.
    feature = Feature.model_validate_json(item["body"]["S"])
    return feature.model_copy(update={"revision": int(item["revision"]["N"])})


def load() -> dict[str, Feature]:
    """Every feature: one consistent Query of the catalog partition's FEATURE# items."""
    features: dict[str, Feature] = {}
    params: dict[str, Any] = {
        "TableName": table_name(),
        "KeyConditionExpression": "PK = :pk AND begins_with(SK, :features)",
        "ExpressionAttributeValues": {
            ":pk": {"S": keys.CATALOG_PK},
            ":features": {"S": keys.FEATURE},
        },
        "ConsistentRead": True,
    }
    while True:
        with translated_errors():
            response = client().query(**params)
        for item in response.get("Items", []):
            feature = feature_from_item(dict(item))
            features[feature.id] = feature
        if "LastEvaluatedKey" not in response:
            return features
        params["ExclusiveStartKey"] = response["LastEvaluatedKey"]
