"""Reads what the local stack needs from template.yaml: the routes and the table."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
DEFAULT_ROUTE_PATH = "/$default"  # how SAM spells API Gateway's $default route


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags (!Ref, !Sub, ...) as {"Fn": value} mappings."""


def _intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {tag_suffix: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function: str
    code_dir: Path
    handler: str
    # ApiAuth=iam: whether the route stays outside the AWS_IAM authorizer (its event says
    # `Authorizer: NONE` under the IamAuth condition): Stripe's webhook, the dashboard.
    open_under_iam: bool = False

    @property
    def is_default(self) -> bool:
        """The route of every request no other route matches."""
        return self.path == DEFAULT_ROUTE_PATH

    @property
    def greedy_prefix(self) -> str | None:
        """For a path ending in a greedy variable (`/dashboard/{proxy+}`), what precedes it
        (`/dashboard/`): such a route takes every deeper path."""
        head, _, last = self.path.rpartition("/")
        return f"{head}/" if last.startswith("{") and last.endswith("+}") else None

    @property
    def greedy_name(self) -> str:
        return self.path.rpartition("/")[2].strip("{+}")

    @property
    def route_key(self) -> str:
        return "$default" if self.is_default else f"{self.method} {self.path}"


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open() as stream:
        template: dict[str, Any] = yaml.load(stream, Loader=_CfnLoader)  # noqa: S506
    return template


def routes(template: dict[str, Any]) -> list[Route]:
    """Every HttpApi route of every function, as API Gateway would route it."""
    return [
        replace(
            _function(
                template, name, event["Properties"]["Method"].upper(), event["Properties"]["Path"]
            ),
            open_under_iam=_authorizer_under_iam(event["Properties"].get("Auth")) == "NONE",
        )
        for name, event in _events_of_kind(template, "HttpApi")
    ]


def _authorizer_under_iam(auth: Any) -> str | None:
    """The route's authorizer when ApiAuth=iam: `!If [IamAuth, {Authorizer: X}, ...]` or a
    plain `{Authorizer: X}`; None for the API's default (AWS_IAM)."""
    if isinstance(auth, dict) and "If" in auth:
        condition, when_iam, _ = auth["If"]
        auth = when_iam if condition == "IamAuth" else None
    return auth.get("Authorizer") if isinstance(auth, dict) else None


def scheduled(template: dict[str, Any]) -> list[Route]:
    """Every function EventBridge runs on a schedule (its path: the schedule expression)."""
    return [
        _function(template, name, "SCHEDULE", event["Properties"]["Schedule"])
        for name, event in _events_of_kind(template, "Schedule")
    ]


def _events_of_kind(template: dict[str, Any], kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(function name, event) for every event of this kind of every function."""
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] == kind:
                yield name, event


def _function(template: dict[str, Any], name: str, method: str, path: str) -> Route:
    props = template["Resources"][name]["Properties"]
    default_handler = (
        template.get("Globals", {}).get("Function", {}).get("Handler", "app.lambda_handler")
    )
    return Route(
        method=method,
        path=path,
        function=name,
        code_dir=ROOT / props["CodeUri"],
        handler=props.get("Handler", default_handler),
    )


def table_definition(template: dict[str, Any], table_name: str) -> dict[str, Any]:
    """CreateTable arguments for the template's table (keys and indexes; no AWS-only settings)."""
    props = next(
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::DynamoDB::Table"
    )
    definition = {
        "TableName": table_name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props["BillingMode"],
    }
    if props.get("GlobalSecondaryIndexes"):
        definition["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    return definition


def ttl_attribute(template: dict[str, Any]) -> str | None:
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::DynamoDB::Table":
            spec = resource["Properties"].get("TimeToLiveSpecification", {})
            return spec.get("AttributeName") if spec.get("Enabled") else None
    return None


@dataclass(frozen=True)
class QueueSource:
    """A function fed by an SQS queue of the template, and how Lambda polls it."""

    queue: str
    dead_letter_queue: str | None
    max_receive_count: int
    function: Route
    batch_size: int
    window_s: float


def queue_sources(template: dict[str, Any]) -> list[QueueSource]:
    """Every function an SQS queue of the template feeds, with how Lambda polls the queue."""
    found = []
    for name, event in _events_of_kind(template, "SQS"):
        queue = event["Properties"]["Queue"]["GetAtt"].split(".")[0]
        redrive = template["Resources"][queue]["Properties"].get("RedrivePolicy", {})
        found.append(
            QueueSource(
                queue=queue,
                dead_letter_queue=(
                    redrive["deadLetterTargetArn"]["GetAtt"].split(".")[0] if redrive else None
                ),
                max_receive_count=int(redrive.get("maxReceiveCount", 0)),
                function=_function(template, name, "SQS", queue),
                batch_size=int(event["Properties"].get("BatchSize", 10)),
                window_s=float(event["Properties"].get("MaximumBatchingWindowInSeconds", 0)),
            )
        )
    return found


def queue_url_variables(template: dict[str, Any]) -> dict[str, str]:
    """Environment variables the functions get a queue's URL in: variable -> queue name."""
    queues = {n for n, r in template["Resources"].items() if r["Type"] == "AWS::SQS::Queue"}
    found = {}
    every_function = template.get("Globals", {}).get("Function", {})
    for resource in [{"Properties": every_function}, *template["Resources"].values()]:
        variables = resource.get("Properties", {}).get("Environment", {}).get("Variables", {})
        for variable, value in variables.items():
            if isinstance(value, dict) and value.get("Ref") in queues:
                found[variable] = value["Ref"]
    return found
