from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from local.template import (
    ROOT,
    TEMPLATE,
    load_template,
    queue_sources,
    routes,
    scheduled,
    table_definition,
    ttl_attribute,
)
from tests.function_imports import modules_reached

CFN_LINT = Path(sys.executable).parent / "cfn-lint"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def resources_of(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def table_properties(template: dict[str, Any]) -> dict[str, Any]:
    (table,) = resources_of(template, "AWS::DynamoDB::Table").values()
    return table["Properties"]


def test_cfn_lint_finds_nothing():
    result = subprocess.run(  # noqa: S603
        [str(CFN_LINT), str(TEMPLATE)], capture_output=True, text=True, check=False, cwd=ROOT
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_every_function_has_an_http_api_post_route_a_queue_or_a_schedule(
    template: dict[str, Any],
):
    functions = resources_of(template, "AWS::Serverless::Function")
    routed = {route.function for route in routes(template) if route.method == "POST"}
    polled = {source.function.function for source in queue_sources(template)}
    timed = {route.function for route in scheduled(template)}

    assert functions
    assert set(functions) == routed | polled | timed | {"RouteNotFoundFunction"}
    assert timed == {"BillingAuditFunction", "AppEventsSweeperFunction"}
    assert polled == {
        "BalancesTrackWorkerFunction",
        "CustomersPurgeWorkerFunction",
        "AppEventsWorkerFunction",
    }


def test_what_no_route_matches_goes_to_the_route_not_found_function(template: dict[str, Any]):
    (default,) = [route for route in routes(template) if route.is_default]

    assert default.route_key == "$default"
    assert default.method == "ANY"
    assert default.function == "RouteNotFoundFunction"
    assert default.code_dir == ROOT / "functions" / "route_not_found"


@pytest.mark.parametrize(
    ("queue_name", "dead_letter_queue"),
    [("TrackQueue", "TrackDeadLetterQueue"), ("PurgeQueue", "PurgeDeadLetterQueue")],
)
def test_each_queue_has_a_dead_letter_queue_and_reports_partial_failures(
    template: dict[str, Any], queue_name: str, dead_letter_queue: str
):
    (source,) = [s for s in queue_sources(template) if s.queue == queue_name]
    worker = template["Resources"][source.function.function]["Properties"]
    queue = template["Resources"][source.queue]["Properties"]
    (event,) = worker["Events"].values()

    assert source.dead_letter_queue == dead_letter_queue
    assert source.max_receive_count == 5
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert queue["VisibilityTimeout"] >= 6 * worker["Timeout"]


def test_routes_are_unique_and_versioned(template: dict[str, Any]):
    keys = [route.route_key for route in routes(template)]

    assert len(keys) == len(set(keys))
    assert all(
        r.path.startswith("/v1/")
        for r in routes(template)
        if not r.is_default and r.function not in ("StripeWebhookFunction", "DashboardFunction")
    )


def test_stripes_webhook_route_has_no_authorizer_and_reads_only_the_stripe_secret(
    template: dict[str, Any],
):
    (webhook,) = [r for r in routes(template) if r.function == "StripeWebhookFunction"]
    function = template["Resources"]["StripeWebhookFunction"]["Properties"]
    (event,) = function["Events"].values()
    secret_policies = [
        policy["AWSSecretsManagerGetSecretValuePolicy"]
        for policy in function["Policies"]
        if "AWSSecretsManagerGetSecretValuePolicy" in policy
    ]

    assert webhook.route_key == "POST /webhooks/stripe"
    # No authorizer with either ApiAuth: the API's default (AWS_IAM) is waived under IAM.
    assert webhook.open_under_iam
    assert event["Properties"]["Auth"] == {
        "If": ["IamAuth", {"Authorizer": "NONE"}, {"Ref": "AWS::NoValue"}]
    }
    assert secret_policies == [{"SecretArn": {"Ref": "StripeSecret"}}]
    secret = template["Resources"]["StripeSecret"]["Properties"]["SecretString"]["Sub"]
    assert '"stripe_webhook_secret": "${StripeWebhookSecret}"' in secret


def test_every_function_handler_exists(template: dict[str, Any]):
    for route in routes(template):
        module, _, function = route.handler.rpartition(".")
        source = route.code_dir / f"{module}.py"
        assert route.code_dir.parent == ROOT / "functions", route.function
        assert source.is_file(), source

        defined = {
            node.name
            for node in ast.parse(source.read_text()).body
            if isinstance(node, ast.FunctionDef)
        }
        assert function == "lambda_handler"
        assert function in defined, source


def test_every_functions_folder_is_deployed(template: dict[str, Any]):
    folders = {path.parent for path in (ROOT / "functions").glob("*/app.py")}
    deployed = (
        {route.code_dir for route in routes(template)}
        | {source.function.code_dir for source in queue_sources(template)}
        | {route.code_dir for route in scheduled(template)}
    )

    assert folders
    assert folders == deployed


def test_functions_run_python_3_13_on_arm64(template: dict[str, Any]):
    function_globals = template["Globals"]["Function"]

    assert function_globals["Runtime"] == "python3.13"
    assert function_globals["Architectures"] == ["arm64"]
    for name, function in resources_of(template, "AWS::Serverless::Function").items():
        assert "Runtime" not in function["Properties"], name
        assert "Architectures" not in function["Properties"], name


def test_the_table_is_on_demand_with_point_in_time_recovery(template: dict[str, Any]):
    props = table_properties(template)

    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_the_table_expires_items_by_their_ttl_attribute(template: dict[str, Any]):
    assert ttl_attribute(template) == "ttl"
    assert table_properties(template)["TimeToLiveSpecification"] == {
        "AttributeName": "ttl",
        "Enabled": True,
    }


def test_the_table_has_the_indexes_the_store_queries(template: dict[str, Any]):
    definition = table_definition(template, "billing-unit")

    gsi1, gsi2 = definition["GlobalSecondaryIndexes"]
    assert gsi1["IndexName"] == "GSI1"
    assert [k["AttributeName"] for k in gsi1["KeySchema"]] == ["GSI1PK", "GSI1SK"]
    assert gsi2["IndexName"] == "GSI2"
    assert [k["AttributeName"] for k in gsi2["KeySchema"]] == ["GSI2PK", "GSI2SK"]
    assert definition["TableName"] == "billing-unit"
    assert [k["AttributeName"] for k in definition["KeySchema"]] == ["PK", "SK"]


def test_who_holds_a_feature_is_a_keys_only_index(template: dict[str, Any]):
    (gsi2,) = [
        i for i in table_properties(template)["GlobalSecondaryIndexes"] if i["IndexName"] == "GSI2"
    ]

    assert gsi2["Projection"] == {"ProjectionType": "KEYS_ONLY"}


def test_only_the_feature_functions_that_refuse_changes_may_query_the_holders_index(
    template: dict[str, Any],
):
    allowed = {
        name
        for name, function in resources_of(template, "AWS::Serverless::Function").items()
        for policy in function["Properties"].get("Policies", [])
        if isinstance(policy, dict)
        for statement in policy.get("Statement", [])
        if "GSI2" in str(statement.get("Resource"))
    }

    assert allowed == {"FeaturesUpdateFunction", "FeaturesDeleteFunction"}


@pytest.mark.parametrize("parameter", ["StripeSecretKey", "StripeWebhookSecret", "ApiKeyHashes"])
def test_secret_parameters_are_never_echoed(template: dict[str, Any], parameter: str):
    assert template["Parameters"][parameter]["NoEcho"] is True


def test_outputs_give_the_api_and_webhook_urls(template: dict[str, Any]):
    assert {"ApiUrl", "WebhookUrl"} <= set(template["Outputs"])


def test_the_billing_audit_runs_hourly_and_writes_only_its_own_records(template: dict[str, Any]):
    (audit,) = [r for r in scheduled(template) if r.function == "BillingAuditFunction"]
    function = template["Resources"]["BillingAuditFunction"]["Properties"]
    statements = function["Policies"][0]["Statement"]
    writes = [
        s for s in statements if {"dynamodb:PutItem", "dynamodb:DeleteItem"} & set(s["Action"])
    ]

    assert audit.path == "rate(1 hour)"
    assert audit.code_dir == ROOT / "functions" / "billing_audit"
    assert function["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"] == "Billing"
    (only_own,) = writes
    assert only_own["Condition"] == {
        "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["AUDIT"]}
    }
    every_action = {action for s in statements for action in s["Action"]}
    assert every_action == {
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
    }


def test_every_function_gets_the_checkout_success_url_parameter(template: dict[str, Any]):
    """Calls naming no success_url fall back to CHECKOUT_SUCCESS_URL: a deployment sets it."""
    parameter = template["Parameters"]["CheckoutSuccessUrl"]
    variables = template["Globals"]["Function"]["Environment"]["Variables"]

    assert parameter["Default"] == ""
    assert variables["CHECKOUT_SUCCESS_URL"] == {"Ref": "CheckoutSuccessUrl"}


def test_the_outbox_sweeper_runs_every_minute_and_touches_only_the_outbox(
    template: dict[str, Any],
):
    (sweeper,) = [r for r in scheduled(template) if r.function == "AppEventsSweeperFunction"]
    function = template["Resources"]["AppEventsSweeperFunction"]["Properties"]
    table, queue = (policy["Statement"] for policy in function["Policies"])

    assert sweeper.path == "rate(1 minute)"
    assert table == [
        {
            "Effect": "Allow",
            "Action": ["dynamodb:Query", "dynamodb:DeleteItem"],
            "Resource": {"GetAtt": "BillingTable.Arn"},
            "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["OUTBOX"]}},
        }
    ]
    assert queue == [
        {
            "Effect": "Allow",
            "Action": ["sqs:SendMessage"],
            "Resource": {"GetAtt": "AppEventsQueue.Arn"},
        }
    ]


# Functions whose code imports the events module but never publishes (a preview prices a
# change with the attach's own decisions and writes nothing).
NEVER_PUBLISH = {"BillingPreviewAttachFunction", "BillingPreviewUpdateFunction"}


def _allowed(function: dict[str, Any]) -> set[tuple[str, str]]:
    """(action, resource) pairs of the function's own statements."""
    return {
        (action, str(statement["Resource"]))
        for policy in function.get("Policies", [])
        if isinstance(policy, dict) and "Statement" in policy
        for statement in policy["Statement"]
        for action in statement["Action"]
    }


def test_every_function_that_publishes_application_events_may_queue_them_and_keep_them(
    template: dict[str, Any],
):
    """A publisher keeps the event in the outbox (a table write it removes once queued)
    and sends it to the events queue: without those, its events wait for the sweeper."""
    table, queue = str({"GetAtt": "BillingTable.Arn"}), str({"GetAtt": "AppEventsQueue.Arn"})
    needed = {("dynamodb:PutItem", table), ("dynamodb:DeleteItem", table)}
    needed.add(("sqs:SendMessage", queue))
    publishers = {
        name: properties
        for name, properties in resources_of(template, "AWS::Serverless::Function").items()
        if "billing.services.app_webhooks.events"
        in modules_reached(ROOT / properties["Properties"]["CodeUri"])
        and name not in NEVER_PUBLISH
    }
    missing = {
        name: sorted(needed - _allowed(resource["Properties"]))
        for name, resource in publishers.items()
    }

    assert {"CustomersGetOrCreateFunction", "BalancesTrackFunction"} <= set(publishers)
    assert {name: gaps for name, gaps in missing.items() if gaps} == {}
