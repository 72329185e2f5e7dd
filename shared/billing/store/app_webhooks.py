"""The application's webhook endpoints (`APP_WEBHOOKS` / `WEBHOOK#<id>`), and which endpoint
each event reached (`APP_EVENT#<message id>` / `DELIVERED#<webhook id>`, kept a while so a
message SQS hands over twice is not posted twice)."""

from __future__ import annotations

from typing import Any

from billing.domain.app_webhooks import Endpoint
from billing.store import keys, writes
from billing.store.table import client, from_item, table_name, translated_errors
from billing.store.writes import ConditionFailed, Write

# Longer than SQS keeps a message (4 days) and than the retries last.
DELIVERED_TTL_S = 14 * 24 * 3600


class EndpointExists(Exception):
    pass


class EndpointMissing(Exception):
    pass


def _key(webhook_id: str) -> dict[str, Any]:
    return {"PK": {"S": keys.APP_WEBHOOKS_PK}, "SK": {"S": keys.app_webhook_sk(webhook_id)}}


def create(endpoint: Endpoint) -> None:
    item: dict[str, Any] = {
        **_key(endpoint.id),
        "entity": {"S": "app_webhook"},
        **_attributes(endpoint),
    }
    put = {
        "TableName": table_name(),
        "Item": item,
        "ConditionExpression": "attribute_not_exists(PK)",
    }
    try:
        writes.run([Write("Put", put, on_condition_failed=ConditionFailed)])
    except ConditionFailed as taken:
        raise EndpointExists(endpoint.id) from taken


def load(webhook_id: str) -> Endpoint | None:
    with translated_errors():
        got = client().get_item(TableName=table_name(), Key=_key(webhook_id), ConsistentRead=True)
    item = got.get("Item")
    return _endpoint(item) if item else None


def list_all() -> list[Endpoint]:
    found: list[Endpoint] = []
    start: dict[str, Any] | None = None
    while True:
        query: dict[str, Any] = {
            "TableName": table_name(),
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :sk)",
            "ExpressionAttributeValues": {
                ":pk": {"S": keys.APP_WEBHOOKS_PK},
                ":sk": {"S": keys.APP_WEBHOOK},
            },
            "ConsistentRead": True,
        }
        if start:
            query["ExclusiveStartKey"] = start
        with translated_errors():
            page = client().query(**query)
        found += [_endpoint(item) for item in page.get("Items", [])]
        start = page.get("LastEvaluatedKey")
        if not start:
            return sorted(found, key=lambda e: (e.created_at, e.id))


def replace(endpoint: Endpoint) -> None:
    """Writes the endpoint's new state, if it still exists."""
    item: dict[str, Any] = {
        **_key(endpoint.id),
        "entity": {"S": "app_webhook"},
        **_attributes(endpoint),
    }
    put = {"TableName": table_name(), "Item": item, "ConditionExpression": "attribute_exists(PK)"}
    try:
        writes.run([Write("Put", put, on_condition_failed=ConditionFailed)])
    except ConditionFailed as gone:
        raise EndpointMissing(endpoint.id) from gone


def delete(webhook_id: str) -> bool:
    """True if it existed."""
    delete = {"TableName": table_name(), "Key": _key(webhook_id), "ReturnValues": "ALL_OLD"}
    got = writes.run([Write("Delete", delete)])
    return bool(got.get("Attributes"))


def delivered(message_id: str, webhook_id: str) -> bool:
    with translated_errors():
        got = client().get_item(
            TableName=table_name(), Key=_delivery_key(message_id, webhook_id), ConsistentRead=True
        )
    return "Item" in got


def mark_delivered(message_id: str, webhook_id: str, now_ms: int, attempt: int) -> None:
    item = {
        **_delivery_key(message_id, webhook_id),
        "entity": {"S": "app_delivery"},
        "delivered_at": {"N": str(now_ms)},
        "attempt": {"N": str(attempt)},
        "ttl": {"N": str(now_ms // 1000 + DELIVERED_TTL_S)},
    }
    writes.run([Write("Put", {"TableName": table_name(), "Item": item})])


def _delivery_key(message_id: str, webhook_id: str) -> dict[str, Any]:
    return {
        "PK": {"S": keys.app_delivery_pk(message_id)},
        "SK": {"S": keys.app_delivery_sk(webhook_id)},
    }


def _attributes(endpoint: Endpoint) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "webhook_id": {"S": endpoint.id},
        "url": {"S": endpoint.url},
        "events": {"L": [{"S": event} for event in endpoint.events]},
        "disabled": {"BOOL": endpoint.disabled},
        "secret": {"S": endpoint.secret},
        "created_at": {"N": str(endpoint.created_at)},
        "updated_at": {"N": str(endpoint.updated_at)},
    }
    if endpoint.description is not None:
        attributes["description"] = {"S": endpoint.description}
    return attributes


def _endpoint(item: dict[str, Any]) -> Endpoint:
    values = from_item(item)
    return Endpoint(
        id=values["webhook_id"],
        url=values["url"],
        events=tuple(values["events"]),
        description=values.get("description"),
        disabled=values["disabled"],
        secret=values["secret"],
        created_at=values["created_at"],
        updated_at=values["updated_at"],
    )
