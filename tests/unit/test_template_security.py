"""template.yaml's security: least-privilege function policies, the ApiAuth=iam option and
the invoke policies it hands out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.iam import principals_from, route_patterns
from local.template import load_template, routes

# SAM policy templates a function may use, each checked to expand to one action on the one
# resource it names (the SAM policy template list): none grants a wildcard.
KNOWN_POLICY_TEMPLATES = {"AWSSecretsManagerGetSecretValuePolicy": "SecretArn"}
NO_VALUE = {"Ref": "AWS::NoValue"}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def wildcards_in(name: str, policies: list[Any]) -> list[str]:
    found = []
    for policy in policies:
        if isinstance(policy, str):  # a managed policy: what it grants is not in the template
            found.append(f"{name}: managed policy {policy}")
            continue
        (kind, value), *more = policy.items()
        if kind != "Statement":
            if (
                more
                or kind not in KNOWN_POLICY_TEMPLATES
                or set(value) != {KNOWN_POLICY_TEMPLATES[kind]}
            ):
                found.append(f"{name}: policy template {kind} (unchecked expansion)")
            continue
        for statement in value:
            actions = statement["Action"]
            for action in [actions] if isinstance(actions, str) else actions:
                if "*" in action:
                    found.append(f"{name}: action {action}")
            if "*" in json.dumps(statement["Resource"]):
                found.append(f"{name}: resource {statement['Resource']}")
    return found


def test_no_function_policy_grants_a_wildcard_action_or_resource(template: dict[str, Any]):
    found = [
        wildcard
        for name, properties in functions(template).items()
        for wildcard in wildcards_in(name, properties.get("Policies", []))
    ]

    assert found == []


def test_the_wildcard_check_sees_what_sam_expands_to_a_wildcard():
    # SQSSendMessagePolicy expands to sqs:SendMessage* (the template states sqs:SendMessage).
    policies = [
        {"SQSSendMessagePolicy": {"QueueName": "q"}},
        {"Statement": [{"Effect": "Allow", "Action": ["dynamodb:*"], "Resource": "t"}]},
        {"Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}]},
        "AmazonDynamoDBFullAccess",
    ]

    assert len(wildcards_in("F", policies)) == 4


def test_api_auth_is_key_unless_the_deployment_says_iam(template: dict[str, Any]):
    parameter = template["Parameters"]["ApiAuth"]

    assert parameter["Default"] == "key"
    assert parameter["AllowedValues"] == ["key", "iam"]
    assert template["Conditions"]["IamAuth"] == {"Equals": [{"Ref": "ApiAuth"}, "iam"]}
    # The SAM transform takes no intrinsic function in an HTTP API's Auth: the language
    # extensions resolve the condition first, so they must come first.
    assert template["Transform"] == ["AWS::LanguageExtensions", "AWS::Serverless-2016-10-31"]


def test_with_iam_every_v1_route_is_behind_the_aws_iam_authorizer(template: dict[str, Any]):
    auth = template["Resources"]["BillingApi"]["Properties"]["Auth"]
    every = routes(template)

    assert auth == {
        "EnableIamAuthorizer": True,
        "DefaultAuthorizer": {"If": ["IamAuth", "AWS_IAM", NO_VALUE]},
    }
    assert {r.route_key for r in every if r.open_under_iam} == {
        "$default",
        "POST /webhooks/stripe",
        "GET /dashboard",
        "POST /dashboard",
        "GET /dashboard/{proxy+}",
        "POST /dashboard/{proxy+}",
    }
    assert all(r.path.startswith("/v1/") for r in every if not r.open_under_iam)


def test_open_routes_name_no_authorizer_unless_iam(template: dict[str, Any]):
    # With ApiAuth=key the API has no default authorizer, and SAM refuses NONE without one.
    for name, properties in functions(template).items():
        for event in properties.get("Events", {}).values():
            auth = event["Properties"].get("Auth")
            if event["Type"] == "HttpApi" and auth is not None:
                assert auth == {"If": ["IamAuth", {"Authorizer": "NONE"}, NO_VALUE]}, name


def test_the_worker_policy_invokes_check_and_track_only(template: dict[str, Any]):
    worker = template["Resources"]["WorkerInvokePolicy"]
    admin = template["Resources"]["AdminInvokePolicy"]

    assert worker["Condition"] == admin["Condition"] == "IamAuth"
    assert sorted(route_patterns(worker["Properties"]["PolicyDocument"])) == [
        "POST /v1/balances.check",
        "POST /v1/balances.track",
    ]
    assert list(route_patterns(admin["Properties"]["PolicyDocument"])) == ["POST /v1/*"]
    for policy in (worker, admin):
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            assert statement["Action"] == "execute-api:Invoke"
    outputs = template["Outputs"]
    assert outputs["WorkerInvokePolicyArn"]["Value"] == {"Ref": "WorkerInvokePolicy"}
    assert outputs["AdminInvokePolicyArn"]["Value"] == {"Ref": "AdminInvokePolicy"}


def test_the_local_principals_hold_the_template_policies(template: dict[str, Any]):
    worker, admin = principals_from(template)
    v1 = [r.route_key for r in routes(template) if r.path.startswith("/v1/")]

    assert sorted(r for r in v1 if worker.may_invoke(r)) == [
        "POST /v1/balances.check",
        "POST /v1/balances.track",
    ]
    assert all(admin.may_invoke(r) for r in v1)
