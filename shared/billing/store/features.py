"""The catalog's features alone (what the hot path, check and track, needs of the catalog),
and who holds a feature."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from billing.domain.features import CreditCost, Feature, FeatureDisplay
from billing.store import keys, records
from billing.store.table import client, table_name, translated_errors


def feature_from_item(item: dict[str, Any]) -> Feature:
    body = records.known(Feature, json.loads(item["body"]["S"]))
    display = body.get("display")
    return Feature(
        **{
            **body,
            "event_names": tuple(body.get("event_names", ())),
            "credit_schema": tuple(
                CreditCost(entry["metered_feature_id"], Decimal(entry["credit_cost"]))
                for entry in body.get("credit_schema", ())
            ),
            "display": None if display is None else FeatureDisplay(**display),
            # The revision attribute, not the body, is the record's current revision.
            "revision": int(item["revision"]["N"]),
        }
    )


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


def holders(feature_id: str, limit: int = 5) -> list[str | None]:
    """Up to `limit` customers holding a grant or flag of this feature: their ids, None for
    an id-less customer.

    One Query of the sparse GSI2, keys only. A global index is eventually consistent: a grant
    written a moment ago (typically well under a second) may not be listed yet, and one
    deleted a moment ago may still be.
    """
    params: dict[str, Any] = {
        "TableName": table_name(),
        "IndexName": "GSI2",
        "KeyConditionExpression": "GSI2PK = :holds",
        "ExpressionAttributeValues": {":holds": {"S": keys.feature_holder_pk(feature_id)}},
        # A customer may hold several grants of a feature: read a few more than named.
        "Limit": limit * 4,
    }
    with translated_errors():
        response = client().query(**params)
    pks = list(dict.fromkeys(item["GSI2SK"]["S"] for item in response.get("Items", [])))
    return [keys.customer_id_of_pk(pk) for pk in pks[:limit]]
