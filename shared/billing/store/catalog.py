"""The catalog's items: every feature and every plan version, in one `CATALOG` partition.

A catalog is small and read far more than written, so one Query reads all of it. Each record
is kept as its model's JSON (exact, whatever the numbers), beside the attributes conditions
need (`revision`, and a plan version's `in_use`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from billing.domain.errors import BillingError, BillingInProgress
from billing.domain.features import Feature
from billing.domain.plans import Plan
from billing.store import records, writes
from billing.store.features import feature_from_item
from billing.store.keys import CATALOG_PK, FEATURE, feature_sk, plan_sk
from billing.store.table import client, table_name, translated_errors
from billing.store.writes import Write


@dataclass
class Catalog:
    features: dict[str, Feature] = field(default_factory=dict)
    # plan id -> every version, oldest first
    plan_versions: dict[str, list[Plan]] = field(default_factory=dict)
    # (plan id, version) -> a version made for one customer's purchase (`customize`): kept
    # apart, so it is never listed, never the latest and never numbered after.
    custom_versions: dict[tuple[str, int], Plan] = field(default_factory=dict)

    def latest(self, plan_id: str) -> Plan | None:
        versions = self.plan_versions.get(plan_id)
        return versions[-1] if versions else None

    def plans(self) -> list[Plan]:
        return [versions[-1] for versions in self.plan_versions.values()]

    def version(self, plan_id: str, version: int) -> Plan | None:
        custom = self.custom_versions.get((plan_id, version))
        if custom is not None:
            return custom
        return next((p for p in self.plan_versions.get(plan_id, []) if p.version == version), None)


def load() -> Catalog:
    """Every feature and every plan version: one consistent Query (more pages only if huge)."""
    catalog = Catalog()
    params: dict[str, Any] = {
        "TableName": table_name(),
        "KeyConditionExpression": "PK = :pk",
        "ExpressionAttributeValues": {":pk": {"S": CATALOG_PK}},
        "ConsistentRead": True,
    }
    while True:
        with translated_errors():
            response = client().query(**params)
        for item in response.get("Items", []):
            body = item["body"]["S"]
            # The attributes, not the body, say the revision and whether a customer holds
            # a version: marking a version in use changes only them.
            revision = int(item["revision"]["N"])
            if item["SK"]["S"].startswith(FEATURE):
                feature = feature_from_item(dict(item))
                catalog.features[feature.id] = feature
            else:
                plan = Plan.model_validate_json(body).model_copy(
                    update={"revision": revision, "in_use": "in_use" in item}
                )
                if plan.custom:
                    catalog.custom_versions[(plan.id, plan.version)] = plan
                else:
                    catalog.plan_versions.setdefault(plan.id, []).append(plan)
        if "LastEvaluatedKey" not in response:
            return catalog
        params["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def put_feature(
    feature: Feature, *, replacing: Feature | None, on_exists: type[BillingError]
) -> Feature:
    """Creates `feature` (replacing None) or replaces `replacing` if unchanged since read."""
    saved = feature._replace(revision=replacing.revision + 1 if replacing else 1)
    writes.run(
        [_put(feature_sk(saved.id), records.to_json(saved), saved.revision, replacing, on_exists)]
    )
    return saved


def delete_feature(feature: Feature) -> None:
    writes.run([_delete(feature_sk(feature.id), feature.revision)])


def rename_feature(before: Feature, after: Feature, on_exists: type[BillingError]) -> Feature:
    saved = after._replace(revision=1)
    writes.run(
        [
            _put(feature_sk(saved.id), records.to_json(saved), 1, None, on_exists),
            _delete(feature_sk(before.id), before.revision),
        ]
    )
    return saved


def put_plan(plan: Plan, *, replacing: Plan | None, on_exists: type[BillingError]) -> Plan:
    """Creates a plan version (replacing None) or replaces one nobody changed since read.

    A customer taking the version meanwhile bumps its revision, so a replacement decided on
    a version not yet in use can never land on one that is.
    """
    saved = plan.model_copy(update={"revision": replacing.revision + 1 if replacing else 1})
    sk = plan_sk(saved.id, saved.version)
    write = _put(sk, saved.model_dump_json(), saved.revision, replacing, on_exists)
    if saved.in_use:
        write.params["Item"]["in_use"] = {"BOOL": True}
    writes.run([write])
    return saved


def put_custom_plan(plan: Plan) -> None:
    """Keeps a version made for one customer's purchase. Its number names its terms, so
    one already kept (a retry, a second tab) is the same version and is left as it is."""
    write = _put(plan_sk(plan.id, plan.version), plan.model_dump_json(), 1, None, _Kept)
    with contextlib.suppress(_Kept):
        writes.run([write])


class _Kept(BillingError):
    """The custom version is kept already."""


def delete_plan_versions(versions: list[Plan]) -> None:
    writes.run(
        [
            Write(
                "Delete",
                {
                    "TableName": table_name(),
                    "Key": {"PK": {"S": CATALOG_PK}, "SK": {"S": plan_sk(p.id, p.version)}},
                    "ConditionExpression": "revision = :r AND attribute_not_exists(in_use)",
                    "ExpressionAttributeValues": {":r": {"N": str(p.revision)}},
                },
                on_condition_failed=BillingInProgress,
            )
            for p in versions
        ]
    )


def mark_in_use(plan: Plan) -> Write:
    """The write that records a customer now holds this version, for the customer's own
    transaction: it fails if the version's terms changed since they were read."""
    return Write(
        "Update",
        {
            "TableName": table_name(),
            "Key": {"PK": {"S": CATALOG_PK}, "SK": {"S": plan_sk(plan.id, plan.version)}},
            "UpdateExpression": "SET in_use = :true, revision = revision + :one",
            "ConditionExpression": "revision = :r",
            "ExpressionAttributeValues": {
                ":true": {"BOOL": True},
                ":one": {"N": "1"},
                ":r": {"N": str(plan.revision)},
            },
        },
        on_condition_failed=BillingInProgress,
    )


def _put(sk: str, body: str, revision: int, replacing: Any, on_exists: type[BillingError]) -> Write:
    params: dict[str, Any] = {
        "TableName": table_name(),
        "Item": {
            "PK": {"S": CATALOG_PK},
            "SK": {"S": sk},
            "body": {"S": body},
            "revision": {"N": str(revision)},
        },
    }
    if replacing is None:
        params["ConditionExpression"] = "attribute_not_exists(PK)"
        return Write("Put", params, on_condition_failed=on_exists)
    params["ConditionExpression"] = "revision = :r"
    params["ExpressionAttributeValues"] = {":r": {"N": str(replacing.revision)}}
    return Write("Put", params, on_condition_failed=BillingInProgress)


def _delete(sk: str, revision: int) -> Write:
    return Write(
        "Delete",
        {
            "TableName": table_name(),
            "Key": {"PK": {"S": CATALOG_PK}, "SK": {"S": sk}},
            "ConditionExpression": "revision = :r",
            "ExpressionAttributeValues": {":r": {"N": str(revision)}},
        },
        on_condition_failed=BillingInProgress,
    )
