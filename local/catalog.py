"""The catalog as a file: validate it, diff it against a deployment, and push it.

    .venv/bin/python -m local.catalog push [catalog.yaml] [--url URL] [--key KEY] [--dry-run]
    make catalog [FILE=catalog.yaml] [URL=...] [KEY=...] [DRY_RUN=1]

The file's fields are the API's own. It is parsed with the API's wire models and checked
with the domain's own rules before anything is sent, so a bad file fails naming the field
and changes nothing. Both sides of the diff are normalised by the same rules (defaults
filled in), so pushing an unchanged file sends nothing; changes go out in dependency order
(metered features before the credit systems that use them, features before plans), each
with an Idempotency-Key derived from its body, so an interrupted push can simply be rerun.
Features and plans missing from the file are left as they are.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from local.stack import DEFAULT_SECRET_KEY, ensure_path
from local.template import ROOT

ensure_path()

from billing import numbers  # noqa: E402
from billing.api.wire.features import CreateFeatureRequest  # noqa: E402
from billing.api.wire.plans import CreatePlanRequest  # noqa: E402
from billing.domain.errors import InvalidRequest  # noqa: E402
from billing.domain.feature_changes import shaped  # noqa: E402
from billing.domain.features import Feature  # noqa: E402
from billing.domain.plan_rules import validated  # noqa: E402
from billing.domain.plans import Plan  # noqa: E402
from billing.store import records  # noqa: E402

SAMPLE_CATALOG = ROOT / "local" / "catalog.yaml"


class CatalogError(Exception):
    """A catalog file that cannot be pushed; the message names the place at fault."""


class CatalogFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    features: list[dict[str, Any]] = []
    plans: list[dict[str, Any]] = []


@dataclass(frozen=True)
class Change:
    kind: str  # "feature" or "plan"
    id: str
    action: str  # "create", "update" or "unchanged"
    fields: tuple[str, ...]
    body: dict[str, Any]


def read(path: Path) -> CatalogFile:
    try:
        raw = (
            yaml.safe_load(path.read_text())
            if path.suffix in (".yaml", ".yml")
            else json.loads(path.read_text())
        )
        return CatalogFile.model_validate(raw or {})
    except (OSError, yaml.YAMLError, json.JSONDecodeError, ValidationError) as error:
        raise CatalogError(f"{path}: {error}") from error


def desired(catalog: CatalogFile) -> tuple[dict[str, Feature], dict[str, Plan]]:
    """The file as the domain sees it, every rule checked; CatalogError names what is wrong."""
    features: dict[str, Feature] = {}
    for index, entry in enumerate(_dependency_order(catalog.features)):
        where = f"features[{index}] ({entry.get('id', '?')})"
        request = _parse(CreateFeatureRequest, _as_request(entry, "feature_id"), where)
        features[request.feature_id] = _checked(lambda r=request: shaped(r.spec(), features), where)
    plans: dict[str, Plan] = {}
    for index, entry in enumerate(catalog.plans):
        where = f"plans[{index}] ({entry.get('id', '?')})"
        plan = _plan_of(_parse(CreatePlanRequest, _as_request(entry, "plan_id"), where))
        if plan.id in plans:
            raise CatalogError(f"{where}: the plan id appears twice")
        plans[plan.id] = _checked(lambda p=plan: validated(p, features), where)
    return features, plans


def changes(
    features: dict[str, Feature], plans: dict[str, Plan], api: httpx.Client
) -> list[Change]:
    current_features = {f["id"]: f for f in _call(api, "/v1/features.list", {})["list"]}
    current_plans = {
        p["id"]: p for p in _call(api, "/v1/plans.list", {"include_archived": True})["list"]
    }
    known: dict[str, Feature] = {}
    for body in _dependency_order(list(current_features.values())):
        known[body["id"]] = _feature_of(body, known)
    found: list[Change] = []
    for feature in features.values():
        body = _feature_body(feature)
        if feature.id not in known:
            found.append(Change("feature", feature.id, "create", (), body))
            continue
        differ = _differences(_comparable_feature(known[feature.id]), _comparable_feature(feature))
        found.append(
            Change("feature", feature.id, "update" if differ else "unchanged", differ, body)
        )
    for plan in plans.values():
        body = _plan_body(plan)
        if plan.id not in current_plans:
            found.append(Change("plan", plan.id, "create", (), body))
            continue
        differ = _plan_differences(current_plans[plan.id], plan, {**known, **features})
        if current_plans[plan.id].get("archived"):
            differ = (*differ, "archived")
        found.append(Change("plan", plan.id, "update" if differ else "unchanged", differ, body))
    return found


def apply(found: list[Change], api: httpx.Client) -> None:
    for change in found:
        if change.action == "unchanged":
            continue
        resource = "features" if change.kind == "feature" else "plans"
        if change.action == "create":
            body = change.body
            path = f"/v1/{resource}.create"
        else:
            body = {**change.body, **({"archived": False} if change.kind == "plan" else {})}
            path = f"/v1/{resource}.update"
        digest = hashlib.sha256(numbers.dumps([path, body]).encode()).hexdigest()
        _call(api, path, body, idempotency_key=f"catalog-push-{digest[:40]}")


def render(found: list[Change]) -> str:
    marks = {"create": "+", "update": "~", "unchanged": "="}
    lines = []
    for change in found:
        detail = f": {', '.join(change.fields)}" if change.fields else ""
        label = "" if change.action == "unchanged" else f" ({change.action})"
        lines.append(f"  {marks[change.action]} {change.kind} {change.id}{label}{detail}")
    created = sum(c.action == "create" for c in found)
    updated = sum(c.action == "update" for c in found)
    if not created and not updated:
        lines.append("no change")
    else:
        lines.append(
            f"{created} to create, {updated} to update, {len(found) - created - updated} unchanged"
        )
    return "\n".join(lines)


def push(
    path: Path, url: str, key: str, dry_run: bool = False, auth: httpx.Auth | None = None
) -> list[Change]:
    """`auth` (a SigV4 signer, ApiAuth=iam) instead of the Bearer key."""
    features, plans = desired(read(path))
    headers = {} if auth is not None else {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=url, headers=headers, auth=auth, timeout=120) as api:
        found = changes(features, plans, api)
        if not dry_run:
            apply(found, api)
    return found


def defaults(env: Mapping[str, str]) -> tuple[str, str, Path]:
    """The API, key and file a bare `push` uses: BILLING_API_URL / BILLING_SECRET_KEY when set
    (a deployment), else the local stack as `make dev` runs with the same environment (PORT,
    LOCAL_SECRET_KEY), and its catalog file (LOCAL_CATALOG)."""
    url = env.get("BILLING_API_URL") or f"http://127.0.0.1:{env.get('PORT') or 8787}"
    key = env.get("BILLING_SECRET_KEY") or env.get("LOCAL_SECRET_KEY") or DEFAULT_SECRET_KEY
    catalog = env.get("LOCAL_CATALOG") or ""
    file = Path(catalog) if catalog.lower() not in ("", "none") else SAMPLE_CATALOG
    return url, key, file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=".venv/bin/python -m local.catalog", description=__doc__.split("\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    url, key, file = defaults(os.environ)
    for name in ("push", "diff", "validate"):
        command = commands.add_parser(name)
        command.add_argument("file", type=Path, nargs="?", default=file)
        command.add_argument("--url", default=url)
        command.add_argument("--key", default=key)
        command.add_argument("--dry-run", action="store_true", help="print the diff only")
    args = parser.parse_args(argv)
    try:
        if args.command == "validate":
            features, plans = desired(read(args.file))
            print(f"valid: {len(features)} features, {len(plans)} plans")
            return 0
        dry_run = args.dry_run or args.command == "diff"
        found = push(args.file, args.url, args.key, dry_run=dry_run)
    except (CatalogError, httpx.HTTPError) as error:
        print(f"catalog error: {error}", file=sys.stderr)
        return 2
    print(render(found))
    if dry_run:
        print("(dry run: nothing was changed)")
    return 0


def _dependency_order(features: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Credit systems after the metered features they name, whatever the file's order."""
    return sorted(features, key=lambda entry: entry.get("type") == "credit_system")


def _as_request(entry: dict[str, Any], id_field: str) -> dict[str, Any]:
    body = {k: v for k, v in entry.items() if k != "id"}
    body[id_field] = entry.get("id", entry.get(id_field))
    return body


def _parse(model: type[Any], body: dict[str, Any], where: str) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as error:
        issue = error.errors()[0]
        field = ".".join(str(part) for part in issue["loc"])
        raise CatalogError(f"{where}: {field}: {issue['msg']}") from None


def _checked(build: Any, where: str) -> Any:
    try:
        return build()
    except InvalidRequest as error:
        detail = (error.details or [{}])[0]
        raise CatalogError(
            f"{where}: {detail.get('field', '')}: {detail.get('message', error.message)}"
        ) from None


def _plan_of(request: CreatePlanRequest) -> Plan:
    return request.plan()


# The fields an answer shares with the create request, read back as that request: the rest of
# an answer (archived, version, created_at, processors, ...) is not the caller's to send, and
# a request model refuses a field it does not take.
_FEATURE_REQUEST_FIELDS = ("name", "type", "consumable", "event_names", "credit_schema", "display")
_PLAN_REQUEST_FIELDS = (
    "name",
    "description",
    "group",
    "add_on",
    "auto_enable",
    "price",
    "items",
    "free_trial",
)


def _request_of(answer: dict[str, Any], fields: tuple[str, ...], id_field: str) -> dict[str, Any]:
    return {id_field: answer["id"], **{name: answer[name] for name in fields if name in answer}}


def _feature_of(body: dict[str, Any], others: dict[str, Feature]) -> Feature:
    request = CreateFeatureRequest.model_validate(
        _request_of(body, _FEATURE_REQUEST_FIELDS, "feature_id")
    )
    spec = request.spec().model_copy(update={"archived": bool(body.get("archived"))})
    return shaped(spec, others)


def _plan_differences(
    current: dict[str, Any], wanted: Plan, features: dict[str, Feature]
) -> tuple[str, ...]:
    try:
        request = CreatePlanRequest.model_validate(
            _request_of(current, _PLAN_REQUEST_FIELDS, "plan_id")
        )
        now = validated(_plan_of(request), features)
    except (ValidationError, InvalidRequest):
        return ("terms",)  # what is deployed no longer reads as valid: replace it
    return _differences(_comparable_plan(now), _comparable_plan(wanted))


_COMPARED_FEATURE_FIELDS = (
    "name",
    "type",
    "consumable",
    "event_names",
    "credit_schema",
    "display",
    "archived",
)


def _comparable_feature(feature: Feature) -> dict[str, Any]:
    values = records.as_dict(feature)
    return {name: values[name] for name in _COMPARED_FEATURE_FIELDS}


def _comparable_plan(plan: Plan) -> dict[str, Any]:
    return plan.model_dump(
        include={"name", "description", "group", "add_on", "auto_enable", "terms"}
    )


def _differences(current: dict[str, Any], wanted: dict[str, Any]) -> tuple[str, ...]:
    fields: list[str] = []
    for name in wanted:
        if name == "terms":
            fields += [f for f in wanted["terms"] if current["terms"].get(f) != wanted["terms"][f]]
        elif current.get(name) != wanted[name]:
            fields.append(name)
    return tuple(fields)


def _feature_body(feature: Feature) -> dict[str, Any]:
    values = records.as_dict(feature)
    body = {name: values[name] for name in _FEATURE_REQUEST_FIELDS}
    if body["display"] is None:
        del body["display"]
    return {"feature_id": feature.id, **body}


def _plan_body(plan: Plan) -> dict[str, Any]:
    terms = plan.terms.model_dump()
    return {
        "plan_id": plan.id,
        "name": plan.name,
        "description": plan.description,
        "group": plan.group or "",
        "add_on": plan.add_on,
        "auto_enable": plan.auto_enable,
        "price": terms["price"],
        "items": terms["items"],
        "free_trial": terms["free_trial"],
    }


def _call(
    api: httpx.Client, path: str, body: dict[str, Any], idempotency_key: str | None = None
) -> Any:
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    # Amounts are decimals: written as exact JSON numbers.
    headers["Content-Type"] = "application/json"
    response = api.post(path, content=numbers.dumps(body), headers=headers)
    if response.status_code >= 400:
        raise CatalogError(f"{path} answered {response.status_code}: {response.text}")
    return response.json()


if __name__ == "__main__":
    sys.exit(main())
